from django.urls import path

from support.api import views

app_name = "support-api"

urlpatterns = [
    path("tickets", views.TicketListCreateApi.as_view(), name="tickets"),
    path("tickets/<int:ticket_id>", views.TicketDetailApi.as_view(), name="ticket"),
    path("tickets/<int:ticket_id>/messages", views.TicketMessagesApi.as_view(), name="ticket-messages"),
    path("tickets/<int:ticket_id>/merge", views.TicketMergeApi.as_view(), name="ticket-merge"),
    path("tickets/<int:ticket_id>/ai-draft", views.TicketDraftApi.as_view(), name="ticket-ai-draft"),
    path("agents", views.AgentListApi.as_view(), name="agents"),
    path("agents/<int:agent_id>/assign-next", views.AgentAssignNextApi.as_view(), name="agent-assign-next"),
    path("sla-policies", views.SLAPolicyListApi.as_view(), name="sla-policies"),
]
