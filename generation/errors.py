"""Generation errors. Each has a `code` and an `http_status` for the API handler."""


class GenerationError(Exception):
    code = "generation_error"
    http_status = 400

    def __init__(self, message: str = "", *, details: dict | None = None):
        super().__init__(message or self.__doc__ or self.code)
        self.details = details or {}


class ProfileRequired(GenerationError):
    """Pass either `customer_profile` or `customer_id`."""

    code = "validation_error"
    http_status = 400


class InvalidProfile(GenerationError):
    """The customer profile could not be read."""

    code = "validation_error"
    http_status = 400


class InvalidContext(GenerationError):
    """The generation context is not valid."""

    code = "validation_error"
    http_status = 400


class BackendFailure(GenerationError):
    """A generation backend could not produce a valid answer (callers fall back)."""

    code = "generation_backend_failed"
    http_status = 503

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


class InvalidModelOutput(BackendFailure):
    """The model's output did not match the required schema."""

    code = "invalid_model_output"
