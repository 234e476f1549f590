"""Management commands, admin screens and the staff pages on a trained model."""

import csv
import io
import re

import pytest
from django.core.management import call_command

from intelligence.models import Archetype, CustomerIntelligence, ModelVersion

pytestmark = pytest.mark.django_db
EXPORT_COLUMNS = [
    "source",
    "external_id",
    "customer_id",
    "churn_probability",
    "predicted_spend",
    "predicted_orders",
    "archetype",
]


def test_export_predictions_stored_scores(trained, tmp_path, django_assert_max_num_queries):
    out = tmp_path / "predictions.csv"
    # Customers' refs are read in bulk: a handful of queries, not one per customer.
    with django_assert_max_num_queries(12):
        call_command("export_predictions", "--out", str(out), verbosity=0, stdout=io.StringIO())
    rows = list(csv.reader(out.open()))
    assert rows[0] == EXPORT_COLUMNS
    assert len(rows) - 1 == CustomerIntelligence.objects.count() == 2357
    assert {r[0] for r in rows[1:]} == {"cdnow"}
    row = dict(zip(EXPORT_COLUMNS, rows[1], strict=True))
    stored = CustomerIntelligence.objects.get(customer_id=row["customer_id"])
    assert float(row["churn_probability"]) == pytest.approx(stored.churn_probability, abs=1e-5)


def test_export_predictions_scores_on_the_fly_for_another_horizon(trained, tmp_path):
    out = tmp_path / "p90.csv"
    call_command(
        "export_predictions", "--out", str(out), "--as-of", "1997-09-30", "--horizon-days", "90", verbosity=0
    )
    rows = list(csv.DictReader(out.open()))
    stored = dict(CustomerIntelligence.objects.values_list("customer_id", "predicted_ltv"))
    assert len(rows) == 2357
    # A 90-day horizon expects less spend than the stored 273-day one.
    assert sum(float(r["predicted_spend"]) for r in rows) < sum(stored.values())


def test_evaluate_models_prints_the_metrics_table(trained):
    out = io.StringIO()
    call_command("evaluate_models", stdout=out)
    text = out.getvalue()
    assert trained.label in text and "roc_auc" in text and "spearman" in text


def test_score_customers_is_idempotent(trained):
    call_command("score_customers", "--as-of", "1997-09-30", verbosity=0, stdout=io.StringIO())
    assert CustomerIntelligence.objects.count() == 2357


@pytest.mark.parametrize("model", [ModelVersion, Archetype, CustomerIntelligence])
def test_admin_pages(trained, admin_client, model, django_assert_max_num_queries):
    opts = model._meta
    with django_assert_max_num_queries(15):
        assert admin_client.get(f"/admin/{opts.app_label}/{opts.model_name}/").status_code == 200
    obj = model.objects.first()
    assert admin_client.get(f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/").status_code == 200


def test_admin_rollback_and_activate_actions(trained, admin_client):
    from intelligence.services import registry

    older = registry.version_store(
        bundle=registry.artifact_load(version=trained),
        as_of=trained.as_of,
        horizon_days=273,
        customers=1,
        seconds=0,
    )
    url = "/admin/intelligence/modelversion/"
    admin_client.post(url, {"action": "rollback", "_selected_action": [older.pk]})
    assert ModelVersion.objects.get(active=True).pk == trained.pk
    admin_client.post(url, {"action": "activate", "_selected_action": [older.pk]})
    assert ModelVersion.objects.get(active=True).pk == older.pk


def test_staff_dashboard(trained, staff_client, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = staff_client.get("/intelligence/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "chart.umd.js" in html and 'id="intel-charts"' in html and trained.label in html
    client.logout()
    assert client.get("/intelligence/").status_code == 302


def test_staff_customer_page(trained, customer_id, staff_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(15):
        response = staff_client.get(f"/intelligence/customers/{customer_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="intel-customer"' in html and "Recommendations" in html
    assert staff_client.get("/intelligence/customers/%3Cscript%3E/").status_code == 404


def test_staff_customer_page_range_holds_the_forecast(trained, staff_client):
    # The least likely buyer with a forecast: the bare p10-p90 of their spend read "0.00 - 0.00".
    row = CustomerIntelligence.objects.filter(predicted_ltv__gte=1).order_by("p_purchase").first()
    assert row.p_purchase < 0.1
    html = staff_client.get(f"/intelligence/customers/{row.customer_id}/").content.decode()
    forecast = float(re.search(r'id="ltv-forecast">([\d.]+) ', html).group(1))
    low, high = (float(v) for v in re.search(r"likely range ([\d.]+) \S ([\d.]+) ", html).groups())
    assert low <= forecast <= high and forecast >= 1


def test_export_progress_counts_customers_not_rows(trained, customer_id, tmp_path):
    from ingestion import interface as ingestion
    from intelligence.services import export

    ingestion.sync_customer(source="shop", data={"customer_id": "x-1", "platform_customer_id": customer_id})
    calls = []
    written = export.predictions_export(path=str(tmp_path / "p.csv"), progress=lambda *a: calls.append(a))
    customers = CustomerIntelligence.objects.count()
    assert written == customers + 1  # the customer with a second ref has two rows
    assert {step for step, _, _ in calls} == {"customers"}
    assert calls[-1] == ("customers", customers, customers)
    assert [done for _, done, _ in calls] == sorted(done for _, done, _ in calls)
