"""Batch bodies are read by the fast JSON parser with the standard library behind it: both give
the same records, long integers stay exact, and what the fast one refuses is explained."""

import json

import pytest

from ingestion.models import Interaction, Order
from ingestion.tests.api_data import cdnow_orders, ticket_interactions

pytestmark = pytest.mark.django_db


def post_raw(client, path: str, body: bytes):
    return client.generic("POST", f"/api/data/{path}", body, content_type="application/json")


def test_integers_beyond_64_bits_are_kept_exact(api_client):
    record = {**ticket_interactions(1)[0], "metadata": {"big": 2**70, "neg": -(2**63) - 1}}
    response = post_raw(api_client, "interactions", json.dumps({"source": "s", "records": [record]}).encode())
    assert response.status_code == 200
    assert Interaction.objects.get().metadata == {"big": 2**70, "neg": -(2**63) - 1}


def test_an_overflowing_number_is_a_field_error_as_before(api_client):
    body = json.dumps({"source": "s", "records": [{**cdnow_orders(1)[0], "total": "X"}]})
    response = post_raw(api_client, "orders", body.replace('"X"', "1e400").encode())
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["errors"] == {
        "total": ["Must be a finite number."]
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"source": "s", "records": [{"title": "\\ud800 alone"}]}', "Unpaired UTF-16 surrogate"),
        (b'{"source": "s", "records": [{"title": "caf\xe9"}]}', "not valid UTF-8"),
        (b'{"source": "s", "records": [{"total": NaN}]}', "NaN is not valid JSON"),
        (b'{"source": "s", "records": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"),
        (b'{"source": "s", "records": [}', "Malformed JSON"),
    ],
)
def test_refused_bodies_say_why(api_client, body, message):
    response = post_raw(api_client, "orders", body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert not Order.objects.exists()
