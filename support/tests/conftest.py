import pytest


@pytest.fixture(autouse=True)
def _no_platform(monkeypatch, request):
    """Unit tests run without the platform unless they request the `real_platform`
    fixture (the interfaces may not be ready); platform calls then answer 'unavailable'."""
    if "real_platform" in request.fixturenames:
        return
    from support import platform

    monkeypatch.setattr(platform.InProcessPlatformClient, "customer_intelligence", lambda self, **kw: None)
    monkeypatch.setattr(platform.InProcessPlatformClient, "customer_score", lambda self, **kw: None)
    monkeypatch.setattr(platform.InProcessPlatformClient, "recent_orders", lambda self, **kw: None)
    monkeypatch.setattr(platform.InProcessPlatformClient, "interactions_report", lambda self, **kw: False)


@pytest.fixture
def real_platform():
    """Opt out of the autouse stub: talk to the in-process platform."""
    return True


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Agents' passwords are hashed per factory call; a fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
