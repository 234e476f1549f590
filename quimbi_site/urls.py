"""URL sets by role: the platform, the applications, or both (QUIMBI_ROLE)."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from quimbi_site import views

handler500 = "quimbi_site.views.handler500"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

platform_urls = [
    path("api/data/", include("ingestion.api.urls")),
    # The names clients already know from the original architecture document.
    path("api/intelligence/", include("generation.api.urls_aliases")),
    path("api/intelligence/", include("intelligence.api.urls")),
    path("api/generation/", include("generation.api.urls")),
    path("intelligence/", include("intelligence.urls")),
]
app_urls = [
    path("api/support/", include("support.api.urls")),
    path("api/marketing/", include("marketing.api.urls")),
    path("marketing/", include("marketing.urls")),  # public: unsubscribe links in e-mails
    path("support/", include("support.urls")),
    path("", views.home, name="home"),
]

if settings.QUIMBI_ROLE in ("all", "platform"):
    urlpatterns += platform_urls
if settings.QUIMBI_ROLE in ("all", "apps"):
    urlpatterns += app_urls
