import httpx
import pytest
import respx

from generation.tests.profiles import cdnow_profile, cdnow_sample_ids
from generation.tests.respx_bridge import http_client

API_URL = "https://api.anthropic.com/v1/messages"


def anthropic_message(text: str, *, stop_reason: str = "end_turn") -> dict:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 812,
            "output_tokens": 143,
            "cache_read_input_tokens": 700,
            "cache_creation_input_tokens": 0,
        },
    }


@pytest.fixture
def profiles():
    return [cdnow_profile(i) for i in cdnow_sample_ids()]


@pytest.fixture
def router():
    with respx.MockRouter(assert_all_called=False, assert_all_mocked=True) as r:
        yield r


@pytest.fixture
def anthropic_backend(router, settings):
    """The real AnthropicBackend, its SDK client talking to the respx router."""
    from generation.backends import _backend
    from generation.backends.anthropic import AnthropicBackend, breaker

    settings.GENERATION_BACKEND = "generation.backends.anthropic.AnthropicBackend"
    settings.ANTHROPIC_MODEL = (
        "claude-sonnet-4-6"  # the settings default (4-5) reaches end-of-life 2026-11-30
    )
    settings.ANTHROPIC_MAX_RETRIES = 2
    settings.ANTHROPIC_TIMEOUT_SECONDS = 2.0
    settings.ANTHROPIC_RETRY_BASE_DELAY = 0.001
    settings.ANTHROPIC_RETRY_MAX_DELAY = 0.005
    settings.GENERATION_BREAKER_THRESHOLD = 3
    _backend.cache_clear()
    backend = AnthropicBackend(http_client=http_client(router), api_key="sk-test")
    _backend.cache_clear()
    import generation.backends as registry

    original = registry._backend
    registry_backend = {"generation.backends.anthropic.AnthropicBackend": backend}

    def fake(path):
        return registry_backend.get(path) or original(path)

    registry._backend = fake
    breaker().reset()
    yield backend
    registry._backend = original
    breaker().reset()


def ok_response(
    text: str = '{"subject": "Your delivery", "body": "Hello, we are on it.", "notes": "checked"}',
):
    return httpx.Response(200, json=anthropic_message(text))
