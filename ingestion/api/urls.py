from django.urls import path

from ingestion.api import views

app_name = "data"

urlpatterns = [
    path("orders", views.OrdersIngestApi.as_view(), name="orders"),
    path("interactions", views.InteractionsIngestApi.as_view(), name="interactions"),
    path("events", views.EventsIngestApi.as_view(), name="events"),
    path("customers", views.CustomerSyncApi.as_view(), name="customers"),
    path("webhooks/shopify/<path:topic>", views.ShopifyWebhookApi.as_view(), name="shopify-webhook"),
]
