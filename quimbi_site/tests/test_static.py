"""Static files (admin, API docs, agent pages) are served by the application server itself once
`collectstatic` has run: gunicorn behind no other web server still renders styled pages."""

import pytest
from django.core.management import call_command
from django.test import Client


@pytest.fixture
def collected(tmp_path, settings):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", "--noinput", verbosity=0)
    return settings.STATIC_ROOT


@pytest.mark.django_db
def test_collected_static_files_are_served_with_debug_off(collected):
    client = Client()  # built after collectstatic: WhiteNoise indexes STATIC_ROOT when it starts
    for path in (
        "/static/admin/css/base.css",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"".join(response.streaming_content if response.streaming else [response.content])
        assert "max-age" in response["Cache-Control"]
    assert client.get("/static/nothing-here.css").status_code == 404


@pytest.mark.django_db
def test_the_site_icon_is_served_and_favicon_ico_leads_to_it(collected):
    client = Client()
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"


@pytest.mark.django_db
def test_logging_out_leads_to_the_login_form(client):
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get(response["Location"]).status_code == 200
