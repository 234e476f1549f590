"""Claude through the official `anthropic` SDK (Messages API).

- explicit timeout and max_retries; retry back-off bounded by settings
  (ANTHROPIC_RETRY_BASE_DELAY, ANTHROPIC_RETRY_MAX_DELAY), and one deadline for
  the whole call, retries included (ANTHROPIC_DEADLINE_SECONDS): each attempt's
  timeout and each back-off shrink to the time left, so an agent waiting for a
  draft gets the offline one in bounded time;
- the stable system prompt is sent as a separate block marked for prompt caching;
- customer text only inside delimited blocks of the user turn, PII redacted;
- no tools are configured; the answer must be JSON {subject, body, notes};
- a circuit breaker stops calls after repeated failures.
Any failure raises BackendFailure; the message service then answers offline.
"""

from __future__ import annotations

import contextvars
import random
import time
from functools import lru_cache

from django.conf import settings

from generation.backends.base import BackendResult, GenerationBackend, MessageRequest
from generation.backends.breaker import CircuitBreaker
from generation.errors import BackendFailure, InvalidModelOutput
from generation.prompts import OUTPUT_SCHEMA, SYSTEM_PROMPT, prompt_hash, user_prompt
from generation.safety import parse_model_output
from generation.services.offers import offer_for_profile, offer_phrase

_breakers: dict[str, CircuitBreaker] = {}
# time.monotonic() by which the current call must be over (set around each messages.create).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("anthropic_deadline", default=None)
_MIN_ATTEMPT_SECONDS = 0.5  # less than this left: no point in starting another attempt


class DeadlineExceeded(Exception):
    """The call's time budget ran out between attempts."""


def _time_left() -> float | None:
    until = _deadline.get()
    return None if until is None else until - time.monotonic()


def breaker() -> CircuitBreaker:
    threshold = int(getattr(settings, "GENERATION_BREAKER_THRESHOLD", 5))
    cooldown = float(getattr(settings, "GENERATION_BREAKER_COOLDOWN_SECONDS", 60.0))
    key = f"{threshold}:{cooldown}"
    if key not in _breakers:
        _breakers[key] = CircuitBreaker("anthropic", failure_threshold=threshold, cooldown_seconds=cooldown)
    return _breakers[key]


@lru_cache(maxsize=1)
def _client_class():
    import anthropic

    class DeadlineMiddleware(anthropic.Middleware):
        """Runs once per attempt: no attempt starts without time left, none outlives the deadline."""

        def handle(self, request, call_next):
            left = _time_left()
            if left is None:
                return call_next(request)
            if left < _MIN_ATTEMPT_SECONDS:
                raise DeadlineExceeded()
            timeout = request.timeout if isinstance(request.timeout, (int, float)) else None
            return call_next(request.copy(timeout=min(timeout or left, left)))

    class BoundedRetryAnthropic(anthropic.Anthropic):
        """Exponential back-off with our own base and ceiling (also for Retry-After)."""

        retry_base_delay: float = 0.5
        retry_max_delay: float = 8.0

        def _calculate_retry_timeout(self, remaining_retries, options, response_headers=None) -> float:
            retry_after = self._parse_retry_after_header(response_headers)
            if retry_after is not None and retry_after > 0:
                delay = min(retry_after, self.retry_max_delay)
            else:
                attempt = self.max_retries - remaining_retries
                delay = min(self.retry_base_delay * (2.0**attempt), self.retry_max_delay)
                delay *= 1 - 0.25 * random.random()
            left = _time_left()
            return delay if left is None else max(0.0, min(delay, left))

    return BoundedRetryAnthropic, DeadlineMiddleware


class AnthropicBackend(GenerationBackend):
    name = "anthropic"
    remote = True

    def __init__(self, *, http_client=None, api_key: str | None = None):
        self._http_client = http_client
        self._api_key = api_key
        self._client = None

    @property
    def model(self) -> str:
        return getattr(settings, "ANTHROPIC_MODEL", "claude-sonnet-4-5")

    def client(self):
        if self._client is None:
            cls, deadline = _client_class()
            client = cls(
                api_key=self._api_key or getattr(settings, "ANTHROPIC_API_KEY", "") or "missing-key",
                timeout=float(getattr(settings, "ANTHROPIC_TIMEOUT_SECONDS", 30.0)),
                max_retries=int(getattr(settings, "ANTHROPIC_MAX_RETRIES", 2)),
                http_client=self._http_client,
                middleware=[deadline()],
            )
            client.retry_base_delay = float(getattr(settings, "ANTHROPIC_RETRY_BASE_DELAY", 0.5))
            client.retry_max_delay = float(getattr(settings, "ANTHROPIC_RETRY_MAX_DELAY", 8.0))
            self._client = client
        return self._client

    def generate(self, request: MessageRequest) -> BackendResult:
        import anthropic

        circuit = breaker()
        if not circuit.allow():
            raise BackendFailure("circuit_open")
        offer = offer_for_profile(profile=request.profile)
        cap = (
            offer_phrase(offer) + f" (at most ${offer.max_discount_value:.2f})"
            if offer_phrase(offer)
            else "none"
        )
        prompt, redacted = user_prompt(request, offer_cap=cap)
        kwargs = {
            "model": self.model,
            "max_tokens": int(getattr(settings, "ANTHROPIC_MAX_TOKENS", 1024)),
            "system": [{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": prompt}],
        }
        if getattr(settings, "ANTHROPIC_STRUCTURED_OUTPUT", True):
            kwargs["output_config"] = {"format": {"type": "json_schema", "schema": OUTPUT_SCHEMA}}
        budget = float(getattr(settings, "ANTHROPIC_DEADLINE_SECONDS", 45.0))
        client = self.client()  # outside the try: a setup error is a setup error, not a bad answer
        token = _deadline.set(time.monotonic() + budget)
        try:
            response = client.messages.create(**kwargs)
            tokens = _tokens(response)
            blocks = list(response.content or ())
        except (anthropic.APITimeoutError, DeadlineExceeded) as exc:
            circuit.record_failure()
            raise BackendFailure("timeout") from exc
        except anthropic.APIConnectionError as exc:
            circuit.record_failure()
            raise BackendFailure("connection_error") from exc
        except anthropic.RateLimitError as exc:
            circuit.record_failure()
            raise BackendFailure("rate_limited") from exc
        except anthropic.APIStatusError as exc:
            circuit.record_failure()
            raise BackendFailure(f"api_error_{exc.status_code}") from exc
        except anthropic.AnthropicError as exc:
            circuit.record_failure()
            raise BackendFailure("api_error") from exc
        except (ValueError, TypeError, AttributeError) as exc:
            # A 200 whose body is no Message (a proxy's HTML page, cut-off JSON): the SDK
            # cannot parse it, or parses it into something without usage or content.
            circuit.record_failure()
            raise BackendFailure("invalid_response") from exc
        finally:
            _deadline.reset(token)
        circuit.record_success()
        if any(getattr(block, "type", "") == "tool_use" for block in blocks):
            raise _with_tokens(InvalidModelOutput("invalid_output_tool_use"), tokens)
        if response.stop_reason == "refusal":
            # Whatever text came with a refusal is not an answer to send to a customer.
            raise _with_tokens(InvalidModelOutput("invalid_output_refusal"), tokens)
        if response.stop_reason in ("max_tokens", "model_context_window_exceeded"):
            raise _with_tokens(InvalidModelOutput("invalid_output_truncated"), tokens)
        text = "".join(getattr(block, "text", "") for block in blocks if getattr(block, "type", "") == "text")
        try:
            parsed = parse_model_output(text, channel=request.channel)
        except InvalidModelOutput as exc:
            raise _with_tokens(exc, tokens) from exc
        return BackendResult(
            subject=parsed.subject,
            body=parsed.body,
            notes=parsed.notes,
            backend=self.name,
            model=response.model or self.model,
            reasoning=(f"written by {response.model or self.model} from the profile and conversation",),
            prompt_hash=prompt_hash(SYSTEM_PROMPT, prompt),
            flags=tuple(f"pii_redacted:{kind}" for kind in redacted),
            **tokens,
        )


def _tokens(response) -> dict[str, int]:
    usage = response.usage
    return {
        "input_tokens": int(usage.input_tokens or 0) + int(usage.cache_creation_input_tokens or 0),
        "output_tokens": int(usage.output_tokens or 0),
        "cache_read_tokens": int(usage.cache_read_input_tokens or 0),
    }


def _with_tokens(exc: BackendFailure, tokens: dict) -> BackendFailure:
    exc.tokens = tokens  # spent even though the answer is rejected: they count against the budget
    return exc
