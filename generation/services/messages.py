"""generate_message: the configured backend, with the offline backend behind it."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from generation.backends import MessageRequest, get_backend, get_offline_backend
from generation.backends.base import LENGTHS, BackendResult
from generation.errors import BackendFailure, InvalidContext
from generation.interface import GeneratedMessage
from generation.models import GenerationLog
from generation.prompts import prompt_hash
from generation.safety import injection_signals
from generation.services import usage
from generation.services.conversation import conversation_read
from generation.services.profiles import clean_name, profile_resolve

GOALS = (
    "resolve_support_issue",
    "nurture_lead",
    "upsell",
    "win_back",
    "welcome",
    "review_request",
    "retention",
)
CHANNELS = ("email", "sms", "chat")
TONES = ("empathetic", "friendly", "formal", "concise")
MAX_TURNS = 50
MAX_TURN_CHARS = 10_000


def message_generate(
    *,
    customer_profile: Any = None,
    customer_id: str | None = None,
    context: dict[str, Any] | None = None,
    requester: str = "in-process",
) -> GeneratedMessage:
    request = _request(
        customer_profile=customer_profile, customer_id=customer_id, context=context or {}, requester=requester
    )
    started = time.perf_counter()
    backend = get_backend()
    fallback_reason = ""
    spent: dict[str, int] = {}
    try:
        if backend.remote and usage.budget_remaining(requester=requester) <= 0:
            raise BackendFailure("token_budget_exhausted")
        result = backend.generate(request)
    except BackendFailure as exc:
        fallback_reason = exc.reason
        spent = getattr(exc, "tokens", {}) or {}
        result = get_offline_backend().generate(request)
    if backend.remote and (spent or result.backend == backend.name):
        tokens = spent or {"input_tokens": result.input_tokens, "output_tokens": result.output_tokens}
        usage.tokens_record(
            requester=requester,
            input_tokens=tokens.get("input_tokens", 0),
            output_tokens=tokens.get("output_tokens", 0),
        )
    signals = injection_signals(" ".join(text for _role, text in request.conversation))
    _log(request, result, fallback_reason, started, signals, spent)
    notes = result.notes
    if signals:
        notes += (
            " Warning: the conversation contains text that tries to instruct the assistant; it was ignored."
        )
    return GeneratedMessage(
        subject=result.subject,
        body=result.body,
        notes=notes.strip(),
        goal=request.goal,
        channel=request.channel,
        tone=request.tone,
        backend=result.backend,
        model=result.model,
        fallback_reason=fallback_reason,
        reasoning=result.reasoning
        + ((f"fell back to offline: {fallback_reason}",) if fallback_reason else ()),
    )


def _request(*, customer_profile, customer_id, context: dict, requester: str) -> MessageRequest:
    if not isinstance(context, dict):
        raise InvalidContext("context must be an object.")
    constraints = context.get("constraints") or {}
    if not isinstance(constraints, dict):
        raise InvalidContext("context.constraints must be an object.")
    goal = context.get("goal") or "resolve_support_issue"
    channel = context.get("channel") or "email"
    tone = constraints.get("tone") or context.get("tone") or "empathetic"
    length = constraints.get("length") or context.get("length") or "medium"
    for name, value, allowed in (
        ("goal", goal, GOALS),
        ("channel", channel, CHANNELS),
        ("tone", tone, TONES),
        ("length", length, LENGTHS),
    ):
        if value not in allowed:
            raise InvalidContext(
                f"{name} must be one of {', '.join(allowed)}.", details={name: [str(value)[:50]]}
            )
    raw = context.get("conversation") or []
    if not isinstance(raw, list) or len(raw) > MAX_TURNS:
        raise InvalidContext(f"conversation must be a list of at most {MAX_TURNS} turns.")
    conversation = tuple(
        (str(turn.get("role") or "customer")[:20], str(turn.get("text") or "")[:MAX_TURN_CHARS])
        for turn in raw
        if isinstance(turn, dict)
    )
    profile = profile_resolve(customer_profile=customer_profile, customer_id=customer_id)
    if context.get("customer_name"):
        profile = dataclasses.replace(profile, first_name=clean_name(context["customer_name"]))
    facts = conversation_read([{"role": r, "text": t} for r, t in conversation])
    return MessageRequest(
        profile=profile,
        goal=goal,
        channel=channel,
        tone=tone,
        length=length,
        conversation=conversation,
        facts=facts,
        requester=requester,
    )


def _log(
    request: MessageRequest,
    result: BackendResult,
    fallback_reason: str,
    started: float,
    signals: tuple[str, ...],
    spent: dict,
) -> None:
    usage.generation_log(
        operation="message",
        backend=result.backend,
        customer_id=request.profile.customer_id,
        requester=request.requester,
        goal=request.goal,
        channel=request.channel,
        tone=request.tone,
        model=result.model,
        prompt_hash=result.prompt_hash
        or prompt_hash(
            request.goal,
            request.channel,
            request.tone,
            request.length,
            *(t for _r, t in request.conversation),
        ),
        latency_ms=int((time.perf_counter() - started) * 1000),
        input_tokens=result.input_tokens or spent.get("input_tokens", 0),
        output_tokens=result.output_tokens or spent.get("output_tokens", 0),
        cache_read_tokens=result.cache_read_tokens,
        outcome=GenerationLog.Outcome.FALLBACK if fallback_reason else GenerationLog.Outcome.OK,
        fallback_reason=fallback_reason[:64],
        flags=[*result.flags, *(f"injection:{s}" for s in signals)],
    )
