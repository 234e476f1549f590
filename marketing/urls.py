"""Marketing's public pages (outside /api/): reached from links in campaign e-mails."""

from django.urls import path

from marketing import views

app_name = "marketing_pages"

urlpatterns = [
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
]
