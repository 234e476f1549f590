"""Support app errors: each has a `code` and an `http_status` for the API envelope."""


class SupportError(Exception):
    code = "support_error"
    http_status = 400

    def __init__(self, message: str = "", details: dict | None = None):
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.details = details or {}


class TicketNotFound(SupportError):
    """Ticket not found."""

    code = "ticket_not_found"
    http_status = 404


class AgentNotFound(SupportError):
    """Agent not found."""

    code = "agent_not_found"
    http_status = 404


class InvalidTransition(SupportError):
    """That change is not allowed for this ticket."""

    code = "invalid_transition"
    http_status = 409


class InvalidAssignee(SupportError):
    """That agent is not a member of this ticket's team."""

    code = "invalid_assignee"
    http_status = 400


class InvalidMerge(SupportError):
    """A ticket cannot be merged into itself."""

    code = "invalid_merge"
    http_status = 400


class NoEligibleTicket(SupportError):
    """No ticket is waiting that this agent may take."""

    code = "no_eligible_ticket"
    http_status = 404


class PlatformUnavailable(SupportError):
    """Intelligence unavailable: the platform is slow or down."""

    code = "platform_unavailable"
    http_status = 503


class NotAnEmail(SupportError):
    """Not an e-mail: it needs a From address, and a subject or a body."""

    code = "not_an_email"
    http_status = 400
