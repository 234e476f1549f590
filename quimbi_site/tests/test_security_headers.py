"""Content-Security-Policy on HTML pages, and the templates it relies on having no inline scripts."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from quimbi_site.middleware import CSP_DEFAULT_POLICY

pytestmark = pytest.mark.django_db

CSP_MIDDLEWARE = "quimbi_site.middleware.ContentSecurityPolicyMiddleware"
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def with_csp(settings):
    if CSP_MIDDLEWARE not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, CSP_MIDDLEWARE]


def _directives(header):
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def test_html_pages_get_a_strict_policy(client, with_csp):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no inline scripts, no eval, no CDN
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


def test_staff_pages_and_errors_are_covered_too(staff_client, with_csp):
    for url in ("/admin/", "/admin/quimbi_site/auditevent/", "/no-such-page/"):
        response = staff_client.get(url)
        assert response.status_code < 500, url
        if response["Content-Type"].startswith("text/html"):
            assert response["Content-Security-Policy"] == CSP_DEFAULT_POLICY, url


def test_json_api_answers_carry_no_html_policy(anon_client, with_csp):
    response = anon_client.get("/api/intelligence/features")
    assert response.status_code == 401
    assert "Content-Security-Policy" not in response


def test_swagger_page_is_the_only_place_allowed_inline_scripts(client, with_csp):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["default-src"] == ["'self'"]


@override_settings(QUIMBI_CSP_POLICY="default-src 'none'")
def test_policy_is_configurable(client, with_csp):
    assert client.get("/accounts/login/")["Content-Security-Policy"] == "default-src 'none'"


def _our_templates():
    base = Path(django_settings.BASE_DIR)
    for app in (
        "templates",
        "support/templates",
        "intelligence/templates",
        "marketing/templates",
        "generation/templates",
        "ingestion/templates",
        "quimbi_site/templates",
    ):
        yield from (base / app).rglob("*.html")


def test_our_templates_have_no_inline_script_so_script_src_self_suffices():
    templates = list(_our_templates())
    assert templates
    for path in templates:
        text = path.read_text()
        for attrs in SCRIPT_TAG.findall(text):
            assert "src=" in attrs or "application/json" in attrs, f"inline <script> in {path}"
        assert not EVENT_HANDLER.search(text), f"inline event handler (on...=) in {path}"
