"""X-API-Key and staff-session authentication, and the create_api_key command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from quimbi_site.models import ClientApiKey

pytestmark = pytest.mark.django_db

URL = "/api/data/orders"
EMPTY_BATCH = {"source": "auth-test", "records": []}


def _client(key: str | None) -> APIClient:
    client = APIClient()
    if key is not None:
        client.credentials(HTTP_X_API_KEY=key)
    return client


def _assert_401(response, code: str):
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": code, "message": response.json()["error"]["message"], "details": {}}
    }
    assert response["WWW-Authenticate"] == 'X-API-Key realm="api"'


def test_missing_key_is_401_with_the_envelope(anon_client):
    _assert_401(anon_client.post(URL, EMPTY_BATCH, format="json"), "not_authenticated")


def test_valid_key_is_accepted_and_its_use_recorded():
    key_obj, key = ClientApiKey.objects.create_key(name="client")
    response = _client(key).post(URL, EMPTY_BATCH, format="json")

    assert response.status_code == 200
    key_obj.refresh_from_db()
    assert key_obj.last_used_at is not None


def test_revoked_key_is_401():
    key_obj, key = ClientApiKey.objects.create_key(name="revoked")
    key_obj.revoked = True
    key_obj.save()
    _assert_401(_client(key).post(URL, EMPTY_BATCH, format="json"), "authentication_failed")


def test_expired_key_is_401():
    _, key = ClientApiKey.objects.create_key(
        name="expired", expiry_date=timezone.now() - timedelta(minutes=1)
    )
    _assert_401(_client(key).post(URL, EMPTY_BATCH, format="json"), "authentication_failed")


def test_key_expiring_later_is_valid():
    _, key = ClientApiKey.objects.create_key(name="later", expiry_date=timezone.now() + timedelta(days=1))
    assert _client(key).post(URL, EMPTY_BATCH, format="json").status_code == 200


@pytest.mark.parametrize(
    "bad_key",
    [
        "",
        "   ",
        "not-a-key",
        "prefixonly.",
        ".secretonly",
        "x" * 500,
        "ключ.секрет",
        "pre\x00fix.secret",  # PostgreSQL cannot compare a prefix holding a NUL: it was a 500
        "WRONGSECRET",
        "PREFIXONLY",
    ],
)
def test_malformed_or_wrong_keys_are_401(bad_key):
    key_obj, _ = ClientApiKey.objects.create_key(name="real")
    if bad_key == "WRONGSECRET":  # the real prefix with another secret
        bad_key = f"{key_obj.prefix}.{'a' * 32}"
    elif bad_key == "PREFIXONLY":
        bad_key = key_obj.prefix
    _assert_401(_client(bad_key).post(URL, EMPTY_BATCH, format="json"), "authentication_failed")


def test_invalid_key_wins_over_a_staff_session(staff_user):
    client = APIClient()
    client.force_login(staff_user)
    client.credentials(HTTP_X_API_KEY="bogus.key")
    assert client.post(URL, EMPTY_BATCH, format="json").status_code == 401


def test_key_scopes_limit_the_api_areas():
    _, data_key = ClientApiKey.objects.create_key(name="data-only", scopes=["data"])
    _, other_key = ClientApiKey.objects.create_key(name="support-only", scopes=["support"])
    assert _client(data_key).post(URL, EMPTY_BATCH, format="json").status_code == 200
    response = _client(other_key).post(URL, EMPTY_BATCH, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_staff_session_is_accepted(staff_client):
    response = staff_client.post(URL, EMPTY_BATCH, content_type="application/json")
    assert response.status_code == 200


def test_non_staff_session_is_forbidden(client, django_user_model):
    user = django_user_model.objects.create_user(username="agent", password="agent-pass-123")
    client.force_login(user)
    response = client.post(URL, EMPTY_BATCH, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_create_api_key_prints_the_key_once_and_stores_only_its_hash():
    out = StringIO()
    call_command(
        "create_api_key", "ci-client", "--scopes", "data,intelligence", "--expires-days", "30", stdout=out
    )
    key = out.getvalue().strip()

    stored = ClientApiKey.objects.get(name="ci-client")
    assert key.startswith(stored.prefix + ".")
    assert stored.hashed_key.startswith("sha512$$")
    assert key.split(".", 1)[1] not in stored.hashed_key
    assert all(key not in str(getattr(stored, f.attname)) for f in stored._meta.concrete_fields)
    assert stored.scopes == ["data", "intelligence"]
    assert stored.expiry_date > timezone.now() + timedelta(days=29)
    assert _client(key).post(URL, EMPTY_BATCH, format="json").status_code == 200

    out2 = StringIO()
    call_command("create_api_key", "ci-client-2", stdout=out2)
    assert out2.getvalue().strip() != key


def test_the_admin_offers_only_keys_the_api_accepts():
    from django.contrib import admin
    from rest_framework_api_key.models import APIKey

    assert ClientApiKey in admin.site._registry
    assert APIKey not in admin.site._registry  # the library's own keys would be refused everywhere
