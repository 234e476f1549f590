"""`manage.py check --deploy` passes with production settings and DEBUG off."""

import os
import secrets
import subprocess
import sys

from django.conf import settings


def _production_env(**overrides: str) -> dict[str, str]:
    # Test-only switches must not leak into a production check.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, **overrides}


def test_check_deploy_passes_with_production_variables():
    env = {
        **_production_env(),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "quimbi.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_with_the_embedded_development_key():
    env = _production_env(DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="quimbi.example.com")
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr
