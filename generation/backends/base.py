"""The backend contract: a MessageRequest in, a BackendResult out, or BackendFailure."""

from __future__ import annotations

from dataclasses import dataclass

from generation.services.conversation import ConversationFacts
from generation.services.profiles import Profile

LENGTHS = ("short", "medium", "long")


@dataclass(frozen=True)
class MessageRequest:
    profile: Profile
    goal: str
    channel: str
    tone: str
    length: str
    conversation: tuple[tuple[str, str], ...]  # (role, text), oldest first
    facts: ConversationFacts
    requester: str = "in-process"


@dataclass(frozen=True)
class BackendResult:
    subject: str
    body: str
    notes: str
    backend: str
    model: str
    reasoning: tuple[str, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    prompt_hash: str = ""
    flags: tuple[str, ...] = ()


class GenerationBackend:
    """Subclasses implement `generate`; raise generation.errors.BackendFailure when they cannot."""

    name = "base"
    remote = False  # True when the backend spends tokens on a remote model

    def generate(self, request: MessageRequest) -> BackendResult:
        raise NotImplementedError
