"""With the broker unreachable, a request whose write is committed still succeeds: the follow-up
task it could not queue is logged (and caught up by the periodic jobs), never turned into a 500
that would make a client send the same write again."""

from types import SimpleNamespace

import pytest
from kombu.exceptions import OperationalError as BrokerDown

from ingestion.models import Order
from ingestion.tests.api_data import cdnow_orders
from support.models import Ticket
from support.tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def _down(*args, **kwargs):
    raise BrokerDown("Error 111 connecting to 127.0.0.1:6399. Connection refused.")


@pytest.fixture
def broker_down(monkeypatch):
    from intelligence import tasks as intelligence_tasks
    from intelligence.services import registry
    from support import tasks as support_tasks

    monkeypatch.setattr(registry, "active_version_get", lambda: SimpleNamespace(pk=1))  # re-scores queue
    for task in (intelligence_tasks.customer_rescore, support_tasks.interaction_report):
        monkeypatch.setattr(task, "delay", _down)


def test_an_order_batch_is_answered_and_stored_once(
    api_client, broker_down, django_capture_on_commit_callbacks, caplog
):
    body = {"source": "cdnow", "records": cdnow_orders(3)}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client.post("/api/data/orders", body, format="json")

    assert response.status_code == 200 and response.json()["accepted"] == 3
    assert callbacks  # the re-score was attempted after the commit
    assert Order.objects.count() == 3
    assert "Connection refused" in caplog.text


def test_a_ticket_is_created_once(api_client, broker_down, django_capture_on_commit_callbacks, caplog):
    TeamFactory(slug="general")
    body = {"subject": "Where is my parcel?", "body": "Two weeks late.", "requester_email": "ann@example.com"}
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/support/tickets", body, format="json")

    assert response.status_code == 201, response.content
    assert Ticket.objects.count() == 1
    assert "Connection refused" in caplog.text
