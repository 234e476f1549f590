from django.urls import path

from intelligence import views

app_name = "intelligence"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("customers/<str:customer_id>/", views.customer_detail, name="customer"),
]
