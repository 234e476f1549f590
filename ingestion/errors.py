"""Ingestion errors. Each has a `code` and an `http_status` for the API handler."""


class IngestionError(Exception):
    code = "ingestion_error"
    http_status = 400

    def __init__(self, message: str = "", *, details: dict | None = None):
        super().__init__(message or self.__doc__ or self.code)
        self.details = details or {}


class RecordInvalid(IngestionError):
    """The record failed validation (details: the errors of each field)."""

    code = "validation_error"
    http_status = 400


class CustomerNotFound(IngestionError):
    """No customer with this id."""

    code = "not_found"
    http_status = 404


class BatchTooLarge(IngestionError):
    """The batch holds more records than allowed."""

    code = "payload_too_large"
    http_status = 413


class WebhookSignatureInvalid(IngestionError):
    """The webhook's HMAC signature is missing or wrong."""

    code = "invalid_signature"
    http_status = 401
