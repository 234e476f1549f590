"""URLs for bench/intelligence.py: the project's, plus a trivial DRF endpoint to compare with."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from quimbi_site.urls import urlpatterns as site_urlpatterns


class PingApi(APIView):
    """Same authentication, permission and throttle path as the intelligence views; no work."""

    api_scope = "intelligence"
    throttle_scope = "intelligence"

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("bench/ping", PingApi.as_view()), *site_urlpatterns]
