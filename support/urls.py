from django.urls import path

from support import views

app_name = "support"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:ticket_id>/reply", views.ticket_reply, name="ticket-reply"),
    path("tickets/<int:ticket_id>/update", views.ticket_update, name="ticket-update"),
    path("tickets/<int:ticket_id>/merge", views.ticket_merge, name="ticket-merge"),
    path("tickets/<int:ticket_id>/draft", views.ticket_draft, name="ticket-draft"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/status", views.agent_status, name="agent-status"),
    path("dashboard/assign-next", views.assign_next, name="assign-next"),
    path("teams/", views.teams, name="teams"),
    path("reports/", views.report, name="report"),
]
