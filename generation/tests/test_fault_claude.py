"""Fault: the Claude API failing in every way it can.

Each failure must end in the offline backend's message, with the reason stored in the
generation log; retryable failures are retried (bounded, honouring Retry-After within its
ceiling), the others are not. The real anthropic SDK is driven through respx
(respx_bridge.py). test_anthropic.py covers the happy path, the breaker and the budget.
"""

import json

import httpx
import pytest

from generation import interface
from generation.backends.anthropic import breaker
from generation.models import GenerationLog
from generation.tests.conftest import API_URL, anthropic_message, ok_response

pytestmark = pytest.mark.django_db

CONTEXT = {
    "conversation": [{"role": "customer", "text": "My order #2002 arrived broken."}],
    "goal": "resolve_support_issue",
    "channel": "email",
    "constraints": {"tone": "empathetic", "length": "short"},
}
VALID = json.dumps({"subject": "Your order", "body": "We are sending a new one today.", "notes": ""})


def _error(status: int, kind: str, **headers) -> httpx.Response:
    return httpx.Response(
        status, json={"type": "error", "error": {"type": kind, "message": kind}}, headers=headers
    )


def _message(**fields) -> httpx.Response:
    return httpx.Response(200, json={**anthropic_message(VALID), **fields})


def _generate(profiles):
    return interface.generate_message(customer_profile=profiles[0], context=CONTEXT, requester="key:fault")


def _assert_fell_back(message, reason: str) -> None:
    assert message.backend == "offline"
    assert message.fallback_reason == reason
    assert message.body and "2002" in message.body  # the offline backend still answers the case
    assert f"fell back to offline: {reason}" in message.reasoning
    log = GenerationLog.objects.get()
    assert (log.outcome, log.fallback_reason, log.backend) == ("fallback", reason, "offline")


# (answer or exception, expected reason, requests made: 1 + ANTHROPIC_MAX_RETRIES when retryable)
TRANSPORT_AND_STATUS_FAILURES = {
    "read-timeout": (httpx.ReadTimeout("read timed out"), "timeout", 3),
    "connect-timeout": (httpx.ConnectTimeout("connect timed out"), "timeout", 3),
    "connection-refused": (httpx.ConnectError("Connection refused"), "connection_error", 3),
    "dropped-mid-response": (httpx.RemoteProtocolError("peer closed connection"), "connection_error", 3),
    "429-rate-limited": (_error(429, "rate_limit_error", **{"retry-after": "1"}), "rate_limited", 3),
    "500-api-error": (_error(500, "api_error"), "api_error_500", 3),
    "529-overloaded": (_error(529, "overloaded_error"), "api_error_529", 3),
    "503-html-from-a-proxy": (httpx.Response(503, text="<html>busy</html>"), "api_error_503", 3),
    "401-bad-api-key": (_error(401, "authentication_error"), "api_error_401", 1),
    "403-permission": (_error(403, "permission_error"), "api_error_403", 1),
    "400-invalid-request": (_error(400, "invalid_request_error"), "api_error_400", 1),
    "404-unknown-model": (_error(404, "not_found_error"), "api_error_404", 1),
}


@pytest.mark.parametrize(
    ("failure", "reason", "requests"),
    TRANSPORT_AND_STATUS_FAILURES.values(),
    ids=TRANSPORT_AND_STATUS_FAILURES.keys(),
)
def test_transport_and_status_failures_fall_back_with_the_reason_logged(
    anthropic_backend, router, profiles, failure, reason, requests
):
    mock = {"side_effect": failure} if isinstance(failure, Exception) else {"return_value": failure}
    route = router.post(API_URL).mock(**mock)

    message = _generate(profiles)

    _assert_fell_back(message, reason)
    assert route.call_count == requests  # bounded retries; auth and request errors are not retried


# Answers that arrive (HTTP 200) but cannot be sent to a customer.
UNUSABLE_ANSWERS = {
    "empty-content": (_message(content=[]), "invalid_output_not_json"),
    "blank-text": (_message(content=[{"type": "text", "text": "  "}]), "invalid_output_not_json"),
    "malformed-json": (
        _message(content=[{"type": "text", "text": '{"subject": "Hi", "body": '}]),
        "invalid_output_not_json",
    ),
    "wrong-shape": (
        _message(content=[{"type": "text", "text": '{"text": "hello"}'}]),
        "invalid_output_schema",
    ),
    "empty-body": (
        _message(content=[{"type": "text", "text": '{"subject": "Hi", "body": " "}'}]),
        "invalid_output_empty",
    ),
    "max-tokens": (_message(stop_reason="max_tokens"), "invalid_output_truncated"),
    "refusal": (_message(stop_reason="refusal"), "invalid_output_refusal"),
    "refusal-without-text": (_message(stop_reason="refusal", content=[]), "invalid_output_refusal"),
    "tool-use": (
        _message(
            content=[{"type": "tool_use", "id": "t1", "name": "send", "input": {}}], stop_reason="tool_use"
        ),
        "invalid_output_tool_use",
    ),
}


@pytest.mark.parametrize(("answer", "reason"), UNUSABLE_ANSWERS.values(), ids=UNUSABLE_ANSWERS.keys())
def test_unusable_answers_fall_back_with_the_reason_logged(
    anthropic_backend, router, profiles, answer, reason
):
    route = router.post(API_URL).mock(return_value=answer)

    message = _generate(profiles)

    _assert_fell_back(message, reason)
    assert route.call_count == 1  # a bad answer is not asked for again: it would cost tokens twice
    assert GenerationLog.objects.get().input_tokens == 812  # the spent tokens are still counted


@pytest.mark.parametrize(
    "body",
    ["<html>Bad gateway</html>", "", '{"type": "message"}', "[]"],
    ids=["html", "empty", "not-a-message", "json-array"],
)
def test_malformed_http_200_bodies_fall_back(anthropic_backend, router, profiles, body):
    router.post(API_URL).mock(
        return_value=httpx.Response(200, content=body.encode(), headers={"content-type": "application/json"})
    )

    message = _generate(profiles)

    _assert_fell_back(message, "invalid_response")


def _record_retry_waits(backend, monkeypatch) -> list[float]:
    """The waits the SDK computes between attempts (it then sleeps them)."""
    client = backend.client()
    real = client._calculate_retry_timeout
    waits: list[float] = []

    def recording(*args, **kwargs):
        waits.append(real(*args, **kwargs))
        return waits[-1]

    monkeypatch.setattr(client, "_calculate_retry_timeout", recording)
    return waits


def test_429_retry_after_is_honoured_then_the_retry_succeeds(
    anthropic_backend, router, profiles, monkeypatch
):
    waits = _record_retry_waits(anthropic_backend, monkeypatch)
    route = router.post(API_URL).mock(
        side_effect=[_error(429, "rate_limit_error", **{"retry-after-ms": "3"}), ok_response(VALID)]
    )

    message = _generate(profiles)

    assert waits == [0.003]  # what the API asked for (3 ms), below the ceiling
    assert route.call_count == 2
    assert message.backend == "anthropic" and message.fallback_reason == ""
    assert GenerationLog.objects.get().outcome == "ok"
    assert breaker().state() == "closed"


def test_a_long_retry_after_is_capped_so_the_call_keeps_its_time_budget(
    anthropic_backend, router, profiles, monkeypatch, settings
):
    waits = _record_retry_waits(anthropic_backend, monkeypatch)
    router.post(API_URL).mock(return_value=_error(429, "rate_limit_error", **{"retry-after": "120"}))

    message = _generate(profiles)

    assert waits == [settings.ANTHROPIC_RETRY_MAX_DELAY] * 2  # not two minutes each
    _assert_fell_back(message, "rate_limited")


def test_every_failure_counts_towards_the_breaker_and_then_no_call_is_made(
    anthropic_backend, router, profiles
):
    route = router.post(API_URL).mock(
        side_effect=[
            _error(401, "authentication_error"),
            httpx.ConnectError("refused"),
            httpx.ConnectError("refused"),
            httpx.ConnectError("refused"),
            _error(529, "overloaded_error"),
            _error(529, "overloaded_error"),
            _error(529, "overloaded_error"),
        ]
    )
    reasons = [_generate(profiles).fallback_reason for _ in range(4)]

    assert reasons == ["api_error_401", "connection_error", "api_error_529", "circuit_open"]
    assert route.call_count == 7  # the fourth message made no request at all
    assert list(GenerationLog.objects.order_by("id").values_list("fallback_reason", flat=True)) == reasons


def test_the_whole_call_keeps_one_deadline_across_retries(
    anthropic_backend, router, profiles, monkeypatch, settings
):
    """Every attempt fails slowly: the budget stops the retries (3 attempts without it)."""
    import time

    settings.ANTHROPIC_DEADLINE_SECONDS = 1.0

    def slow(request):
        time.sleep(0.4)
        raise httpx.ReadTimeout("slow", request=request)

    waits = _record_retry_waits(anthropic_backend, monkeypatch)
    route = router.post(API_URL).mock(side_effect=slow)

    message = _generate(profiles)

    assert route.call_count < 3
    assert all(w <= 1.0 for w in waits)  # no back-off beyond the budget
    _assert_fell_back(message, "timeout")


def test_each_attempt_gets_at_most_the_time_left():
    from generation.backends import anthropic as backend

    _, middleware = backend._client_class()

    class Request:
        timeout = 30.0

        def copy(self, *, timeout):
            copy = Request()
            copy.timeout = timeout
            return copy

    token = backend._deadline.set(backend.time.monotonic() + 2.0)
    try:
        sent = middleware().handle(Request(), lambda request: request)
        assert 1.5 < sent.timeout <= 2.0
        backend._deadline.set(backend.time.monotonic() + 0.1)
        with pytest.raises(backend.DeadlineExceeded):
            middleware().handle(Request(), lambda request: request)
    finally:
        backend._deadline.reset(token)
    assert middleware().handle(Request(), lambda request: request).timeout == 30.0  # no deadline set
