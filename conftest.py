"""Fixtures shared by every app's tests."""

import pytest
from django.db import connection


@pytest.fixture
def api_key(db):
    from quimbi_site.models import ClientApiKey

    _, key = ClientApiKey.objects.create_key(name="test-client")
    return key


@pytest.fixture
def api_client(api_key):
    """A DRF test client sending a valid X-API-Key."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    return client


@pytest.fixture
def anon_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def staff_user(db, django_user_model):
    return django_user_model.objects.create_user(
        username="staff", password="staff-pass-123", is_staff=True, email="staff@example.com"
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
