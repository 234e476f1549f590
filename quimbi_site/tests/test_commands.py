"""Site commands refuse bad arguments with a CommandError and store nothing."""

import os
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from quimbi_site.models import ClientApiKey

pytestmark = pytest.mark.django_db
NAME_MAX = ClientApiKey._meta.get_field("name").max_length


@pytest.mark.parametrize("days", ["0", "-5"])
def test_create_api_key_refuses_days_that_are_not_positive(days):
    with pytest.raises(CommandError, match="--expires-days must be a positive number of days"):
        call_command("create_api_key", "ci", "--expires-days", days, stdout=StringIO())
    assert not ClientApiKey.objects.exists()


def test_create_api_key_refuses_days_beyond_the_calendar():
    with pytest.raises(CommandError, match="--expires-days is too large"):
        call_command("create_api_key", "ci", "--expires-days", "99999999", stdout=StringIO())
    assert not ClientApiKey.objects.exists()


def test_create_api_key_refuses_unknown_scopes_and_names_the_valid_ones():
    with pytest.raises(CommandError) as caught:
        call_command("create_api_key", "ci", "--scopes", "bogus,DATA", stdout=StringIO())
    message = str(caught.value)
    assert "Unknown scope(s): bogus." in message
    assert "Valid scopes: data, generation, intelligence, marketing, support." in message
    assert not ClientApiKey.objects.exists()


def test_create_api_key_normalises_scope_case_and_whitespace():
    call_command("create_api_key", "ci", "--scopes", " DATA , Intelligence,data", stdout=StringIO())
    assert ClientApiKey.objects.get().scopes == ["data", "intelligence"]


@pytest.mark.parametrize("name", ["", "   ", "x" * (NAME_MAX + 1)])
def test_create_api_key_refuses_a_blank_or_too_long_name(name):
    with pytest.raises(CommandError, match=f"The name must be 1 to {NAME_MAX} characters"):
        call_command("create_api_key", name, stdout=StringIO())
    assert not ClientApiKey.objects.exists()


def test_create_api_key_accepts_a_name_of_the_maximum_length():
    call_command("create_api_key", "x" * NAME_MAX, "--expires-days", "1", stdout=StringIO())
    assert ClientApiKey.objects.get().name == "x" * NAME_MAX


@pytest.fixture
def seeds(monkeypatch):
    """The apps' seeds replaced by one that records the shop size it would generate."""
    sizes = []
    fake = SimpleNamespace(seed=lambda stdout: sizes.append(os.environ.get("QUIMBI_DEMO_CUSTOMERS")))
    monkeypatch.setattr("quimbi_site.management.commands.seed_demo.import_module", lambda name: fake)
    return sizes


def test_seed_demo_option_wins_over_the_environment(monkeypatch, seeds):
    monkeypatch.setenv("QUIMBI_DEMO_CUSTOMERS", "25")  # also restores the variable afterwards
    call_command("seed_demo", "--customers", "300", stdout=StringIO())
    assert set(seeds) == {"300"}


def test_seed_demo_without_the_option_keeps_the_environment(monkeypatch, seeds):
    monkeypatch.setenv("QUIMBI_DEMO_CUSTOMERS", "25")
    call_command("seed_demo", stdout=StringIO())
    assert set(seeds) == {"25"}


def test_seed_demo_refuses_a_shop_without_customers(monkeypatch, seeds):
    monkeypatch.setenv("QUIMBI_DEMO_CUSTOMERS", "25")
    with pytest.raises(CommandError, match="--customers must be at least 1"):
        call_command("seed_demo", "--customers", "0", stdout=StringIO())
    assert seeds == [] and os.environ["QUIMBI_DEMO_CUSTOMERS"] == "25"


@pytest.mark.parametrize(
    ("teams", "sees"),
    [("", set()), ("billing", {"Refund please"}), ("*", {"Refund please", "Where is my parcel?"})],
)
def test_create_api_key_grants_support_teams(teams, sees):
    from rest_framework.test import APIClient

    from support.tests.factories import TeamFactory, TicketFactory

    TicketFactory(subject="Refund please", team=TeamFactory(slug="billing"))
    TicketFactory(subject="Where is my parcel?", team=TeamFactory(slug="orders"))
    out = StringIO()
    call_command("create_api_key", f"teams-{teams or 'none'}", "--support-teams", teams, stdout=out)

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=out.getvalue().strip())
    response = client.get("/api/support/tickets")
    assert response.status_code == 200
    assert {t["subject"] for t in response.json()["results"]} == sees


def test_eager_celery_needs_no_broker_address(settings, caplog):
    """Without CELERY_BROKER_URL tasks run in-process; Celery is not left to assume a broker on
    localhost (it warned "No hostname was supplied" on every task, as if one were misconfigured)."""
    from quimbi_site.celery import app
    from quimbi_site.tasks import idempotency_records_purge

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("a broker is configured")
    assert app.conf.broker_url.startswith("memory://")
    with caplog.at_level("WARNING"):
        assert idempotency_records_purge.delay().get() == 0
    assert "No hostname was supplied" not in caplog.text
