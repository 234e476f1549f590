"""Include with path("api/intelligence/", include("generation.api.urls_aliases"))."""

from generation.api.urls import alias_urlpatterns

urlpatterns = alias_urlpatterns
