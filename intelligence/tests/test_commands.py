"""Intelligence commands refuse bad arguments with a CommandError before doing any work."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from intelligence.models import CustomerIntelligence, ModelVersion
from intelligence.services import export, scoring, training
from intelligence.tests.factories import CustomerIntelligenceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_work(monkeypatch):
    """The services fail the test if a refused command reaches them."""

    def called(**kwargs):
        raise AssertionError("the command did work it should have refused")

    for module, name in (
        (scoring, "customers_score_all"),
        (training, "models_train"),
        (export, "predictions_export"),
    ):
        monkeypatch.setattr(module, name, called)


def _tomorrow() -> str:
    return (timezone.localdate() + timedelta(days=1)).isoformat()


def test_score_customers_refuses_an_as_of_after_today(no_work):
    stored = CustomerIntelligenceFactory()
    with pytest.raises(CommandError, match=f"--as-of {_tomorrow()} is after today"):
        call_command("score_customers", "--as-of", _tomorrow(), verbosity=0, stdout=StringIO())
    assert list(CustomerIntelligence.objects.values_list("pk", "as_of", "computed_at")) == [
        (stored.pk, stored.as_of, stored.computed_at)
    ]


def test_score_customers_accepts_today(monkeypatch):
    as_ofs = []
    monkeypatch.setattr(scoring, "customers_score_all", lambda as_of, progress: as_ofs.append(as_of) or 0)
    call_command(
        "score_customers", "--as-of", timezone.localdate().isoformat(), verbosity=0, stdout=StringIO()
    )
    assert as_ofs == [timezone.localdate()]


def test_today_is_the_local_date_of_the_settings_time_zone(settings, monkeypatch):
    # 23:30 UTC on 1 January is already 2 January in Auckland: the local date decides.
    settings.TIME_ZONE = "Pacific/Auckland"
    monkeypatch.setattr(timezone, "now", lambda: datetime(2030, 1, 1, 23, 30, tzinfo=UTC))
    as_ofs = []
    monkeypatch.setattr(scoring, "customers_score_all", lambda as_of, progress: as_ofs.append(as_of) or 0)
    call_command("score_customers", "--as-of", "2030-01-02", verbosity=0, stdout=StringIO())
    assert as_ofs == [date(2030, 1, 2)]
    with pytest.raises(CommandError, match="--as-of 2030-01-03 is after today \\(2030-01-02\\)"):
        call_command("score_customers", "--as-of", "2030-01-03", verbosity=0, stdout=StringIO())
    assert as_ofs == [date(2030, 1, 2)]


def test_train_models_refuses_an_as_of_after_today(no_work):
    with pytest.raises(CommandError, match=f"--as-of {_tomorrow()} is after today"):
        call_command("train_models", "--as-of", _tomorrow(), verbosity=0, stdout=StringIO())
    assert not ModelVersion.objects.exists()


def test_export_predictions_refuses_an_as_of_after_today(no_work, tmp_path):
    out = tmp_path / "predictions.csv"
    with pytest.raises(CommandError, match=f"--as-of {_tomorrow()} is after today"):
        call_command("export_predictions", "--out", str(out), "--as-of", _tomorrow(), stdout=StringIO())
    assert not out.exists()


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("missing/predictions.csv", "--out: no such directory: "),
        (".", "--out must name a file, not a directory"),
        ("predictions/", "--out must name a file, not a directory"),
        ("", "--out must name a file, not a directory"),
    ],
)
def test_export_predictions_refuses_an_out_it_cannot_write(tmp_path, monkeypatch, no_work, out, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandError, match=message):
        call_command("export_predictions", "--out", out, verbosity=0, stdout=StringIO())
    assert list(tmp_path.iterdir()) == []


def test_export_predictions_refuses_a_directory_given_by_its_path(tmp_path, no_work):
    with pytest.raises(CommandError, match="--out must name a file, not a directory"):
        call_command("export_predictions", "--out", str(tmp_path), verbosity=0, stdout=StringIO())
    assert list(tmp_path.iterdir()) == []
