from django.urls import path

from marketing.api import views

app_name = "marketing"

urlpatterns = [
    path("segments", views.SegmentListCreateApi.as_view(), name="segments"),
    path("segments/<int:segment_id>", views.SegmentDetailApi.as_view(), name="segment"),
    path("segments/<int:segment_id>/preview", views.SegmentPreviewApi.as_view(), name="segment-preview"),
    path(
        "segments/<int:segment_id>/snapshots", views.SegmentSnapshotListCreateApi.as_view(), name="snapshots"
    ),
    path("segments/<int:segment_id>/changes", views.SegmentChangesApi.as_view(), name="segment-changes"),
    path("campaigns", views.CampaignListCreateApi.as_view(), name="campaigns"),
    path("campaigns/<int:campaign_id>", views.CampaignDetailApi.as_view(), name="campaign"),
    path(
        "campaigns/<int:campaign_id>/schedule", views.CampaignScheduleApi.as_view(), name="campaign-schedule"
    ),
    path("campaigns/<int:campaign_id>/send", views.CampaignSendApi.as_view(), name="campaign-send"),
    path("campaigns/<int:campaign_id>/cancel", views.CampaignCancelApi.as_view(), name="campaign-cancel"),
    path("campaigns/<int:campaign_id>/results", views.CampaignResultsApi.as_view(), name="campaign-results"),
    path("ab-tests", views.ABTestListCreateApi.as_view(), name="ab-tests"),
    path("ab-tests/<int:ab_test_id>/results", views.ABTestResultsApi.as_view(), name="ab-test-results"),
    path("suppressions", views.SuppressionListCreateApi.as_view(), name="suppressions"),
    path("suppressions/<int:suppression_id>", views.SuppressionDetailApi.as_view(), name="suppression"),
]
