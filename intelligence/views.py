"""Staff pages: look at the intelligence rather than read it."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import render

from intelligence import interface, selectors
from intelligence.errors import CustomerNotFound, ModelNotReady
from intelligence.services import registry


@staff_member_required
def dashboard(request):
    active = registry.active_version_get()
    versions = list(selectors.versions_list(limit=20))
    archetypes = selectors.archetypes_of(version=active)
    charts = {
        "archetypes": {"labels": [a.name for a in archetypes], "sizes": [a.size for a in archetypes]},
        "distributions": selectors.distributions(),
        "versions": [{"label": v.label, **selectors.version_metrics(version=v)} for v in reversed(versions)],
    }
    return render(
        request,
        "intelligence/dashboard.html",
        {
            "active": active,
            "versions": [(v, selectors.version_metrics(version=v)) for v in versions],
            "archetypes": archetypes,
            "charts": charts,
        },
    )


@staff_member_required
def customer_detail(request, customer_id: str):
    try:
        intel = interface.analyze_customer(customer_id=customer_id)
    except CustomerNotFound as exc:
        raise Http404(str(exc)) from exc
    except ModelNotReady:
        return render(request, "intelligence/not_ready.html", status=503)
    timeline = selectors.order_timeline(customer_id=intel.customer_id, as_of=intel.as_of)
    chart = {
        "orders": timeline,
        "expected_next_order": intel.ltv.expected_next_order_date.isoformat()
        if intel.ltv.expected_next_order_date
        else None,
        "as_of": intel.as_of.isoformat(),
        "axes": [{"axis": a.axis, "label": a.label, "strength": a.strength} for a in intel.dna.axes],
    }
    return render(
        request, "intelligence/customer.html", {"intel": intel, "chart": chart, "timeline": timeline}
    )
