from django.urls import path

from generation.api import views

urlpatterns = [
    path("message", views.MessageApi.as_view(), name="generation-message"),
    path("actions", views.ActionsApi.as_view(), name="generation-actions"),
    path("content", views.ContentApi.as_view(), name="generation-content"),
    path("timing", views.TimingApi.as_view(), name="generation-timing"),
    path("offer", views.OfferApi.as_view(), name="generation-offer"),
]

# The names of the original architecture document, mounted under /api/intelligence/
# by quimbi_site/urls.py (see generation.api.urls_aliases).
alias_urlpatterns = [
    path("generate/message", views.MessageApi.as_view(), name="intelligence-generate-message"),
    path("recommend/actions", views.ActionsApi.as_view(), name="intelligence-recommend-actions"),
]
