from django.urls import path

from intelligence.api import views

urlpatterns = [
    path("analyze", views.AnalyzeApi.as_view(), name="intelligence-analyze"),
    path("predict/churn", views.PredictChurnApi.as_view(), name="intelligence-predict-churn"),
    path("predict/ltv", views.PredictLtvApi.as_view(), name="intelligence-predict-ltv"),
    path("segment", views.SegmentApi.as_view(), name="intelligence-segment"),
    path("score", views.ScoreApi.as_view(), name="intelligence-score"),
    path("explain", views.ExplainApi.as_view(), name="intelligence-explain"),
    path("customers/<str:customer_id>", views.CustomerDetailApi.as_view(), name="intelligence-customer"),
    path("models", views.ModelsApi.as_view(), name="intelligence-models"),
    path("features", views.FeaturesApi.as_view(), name="intelligence-features"),
]
