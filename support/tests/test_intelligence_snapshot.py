"""Value at risk from intelligence.interface (interface functions patched until models are trained)."""

from datetime import date

import pytest
from django.utils import timezone

from intelligence import interface as intel
from support.models import Ticket
from support.selectors import queue
from support.services import routing, tickets
from support.tests.factories import AgentFactory, PolicyFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _intelligence(customer_id: str, churn: float, ltv: float) -> intel.CustomerIntelligence:
    band = "high" if churn >= 0.66 else "medium" if churn >= 0.33 else "low"
    return intel.CustomerIntelligence(
        customer_id=customer_id,
        as_of=date(2026, 11, 1),
        computed_at=timezone.now(),
        dna=intel.CustomerDNA(
            axes=(intel.AxisLabel("price_sensitivity", "deal_hunter", 0.9),), archetype="Premium Deal-Hunter"
        ),
        churn=intel.ChurnPrediction(
            customer_id=customer_id,
            probability=churn,
            horizon_days=90,
            risk_band=band,
            top_factors=(
                intel.Factor("gap", "gap since last order is 2.3x their usual", 2.3, 0.4, "raises"),
            ),
            recommendations=(),
            model="lightgbm",
            model_version="v1",
            confidence="high",
        ),
        ltv=intel.LTVForecast(
            customer_id=customer_id,
            horizon_days=365,
            predicted_spend=ltv,
            p10=ltv / 2,
            p90=ltv * 2,
            expected_orders=2,
            probability_of_purchase=0.5,
            expected_next_order_date=None,
            historic_value=ltv,
            model="hurdle",
            model_version="v1",
            confidence="medium",
        ),
        historic=intel.HistoricStats(
            order_count=4,
            total_spent=ltv,
            average_order_value=ltv / 4,
            average_days_between_orders=40,
            first_order_at=None,
            last_order_at=None,
            days_since_last_order=90,
        ),
    )


@pytest.fixture
def platform_data(monkeypatch, real_platform):
    customers = {"rich-risky": (0.9, 3000.0), "rich-loyal": (0.05, 3000.0), "small": (0.9, 40.0)}
    seen_contexts = []

    def analyze(*, customer_id=None, context=None):
        return _intelligence(customer_id, *customers[customer_id])

    def score(*, customer_id, scoring_context="support_priority"):
        seen_contexts.append(scoring_context)
        churn, ltv = customers[customer_id]
        return intel.CustomerScore(
            customer_id=customer_id,
            score=min(100.0, churn * ltv / 30),
            context="support_priority",
            components={"value_at_risk": churn * ltv},
            reasons=("churn x LTV",),
        )

    monkeypatch.setattr(intel, "analyze_customer", analyze)
    monkeypatch.setattr(intel, "score_customer", score)
    return seen_contexts


def test_snapshot_orders_the_queue_and_routes_the_most_valuable_first(platform_data):
    team = TeamFactory(auto_assign=False)
    PolicyFactory(position=1, name="VIP", conditions={"ltv_tier": ["high"], "churn_band": ["high"]})
    PolicyFactory(position=2, name="Default")
    made = {
        cid: tickets.ticket_create(subject=cid, body="help", customer_id=cid, team=team)
        for cid in ("small", "rich-loyal", "rich-risky")
    }
    risky = Ticket.objects.get(pk=made["rich-risky"].pk)
    assert (risky.archetype, risky.churn_band, risky.predicted_ltv) == ("Premium Deal-Hunter", "high", 3000.0)
    assert risky.value_at_risk == 90.0 and risky.sla_policy.name == "VIP"
    assert Ticket.objects.get(pk=made["rich-loyal"].pk).sla_policy.name == "Default"
    assert platform_data[0]["priority"] == "normal"  # the SLA/priority context goes to score_customer
    order = [t.subject for t in queue(user=None, api_key=type("K", (), {"grants": {"support_teams": "*"}})())]
    assert order == ["rich-risky", "rich-loyal", "small"]  # scores 90, 5, 1.2
    agent = AgentFactory(teams=[team])
    assert routing.ticket_assign_next(agent=agent).subject == "rich-risky"


def test_ticket_page_sidebar_shows_intelligence(platform_data, client):
    team = TeamFactory()
    agent = AgentFactory(teams=[team], status="offline")
    ticket = tickets.ticket_create(subject="Where is it", body="help", customer_id="rich-risky", team=team)
    client.force_login(agent.user)
    html = client.get(f"/support/tickets/{ticket.pk}/").content.decode()
    assert "Premium Deal-Hunter" in html and "deal_hunter" in html
    assert "90%" in html and "gap since last order is 2.3x their usual" in html
    assert "range 1500\u20136000" in html


def test_rescore_task_moves_the_ticket_to_the_matching_policy(platform_data, monkeypatch):
    from support import tasks
    from support.models import SLAEvent

    PolicyFactory(position=1, name="VIP", conditions={"churn_band": ["high"]})
    PolicyFactory(position=2, name="Default")
    ticket = tickets.ticket_create(subject="x", body="y", customer_id="rich-loyal")
    assert Ticket.objects.get(pk=ticket.pk).sla_policy.name == "Default"
    monkeypatch.setattr(intel, "analyze_customer", lambda **kw: _intelligence("rich-loyal", 0.8, 3000.0))
    assert tasks.ticket_intelligence_refresh.delay(ticket.pk).get() is True
    ticket.refresh_from_db()
    assert ticket.sla_policy.name == "VIP" and ticket.churn_band == "high"
    assert (
        SLAEvent.objects.filter(ticket=ticket, kind="apply").last().data["reason"] == "intelligence changed"
    )
