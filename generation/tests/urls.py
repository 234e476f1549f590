"""The aliases mounted as the lead will mount them in quimbi_site/urls.py."""

from django.urls import include, path

urlpatterns = [
    path("api/intelligence/", include("generation.api.urls_aliases")),
    path("api/generation/", include("generation.api.urls")),
]
