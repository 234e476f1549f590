"""Marketing errors. Each has a `code` and an `http_status` for the API handler."""


class MarketingError(Exception):
    code = "marketing_error"
    http_status = 400

    def __init__(self, message: str = "", *, details: dict | None = None):
        super().__init__(message or self.__doc__ or self.code)
        self.details = details or {}


class InvalidSegmentRules(MarketingError):
    """The segment rules are not valid."""

    code = "invalid_segment_rules"
    http_status = 400


class InvalidTemplate(MarketingError):
    """The message template uses an unknown placeholder."""

    code = "invalid_template"
    http_status = 400


class InvalidCampaign(MarketingError):
    """The campaign cannot be built as requested."""

    code = "invalid_campaign"
    http_status = 400


class CampaignStateConflict(MarketingError):
    """The campaign is not in a state that allows this."""

    code = "conflict"
    http_status = 409


class SegmentInUse(MarketingError):
    """The segment is used by a campaign or journey."""

    code = "conflict"
    http_status = 409


class InvalidUnsubscribeToken(MarketingError):
    """The unsubscribe link is not valid (mistyped, cut short or altered)."""

    code = "invalid_unsubscribe_token"
    http_status = 400
