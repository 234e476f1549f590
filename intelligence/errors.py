"""Intelligence errors. Each has a `code` and an `http_status` for the API handler."""


class IntelligenceError(Exception):
    code = "intelligence_error"
    http_status = 400

    def __init__(self, message: str = "", *, details: dict | None = None):
        super().__init__(message or self.__doc__ or self.code)
        self.details = details or {}


class CustomerNotFound(IntelligenceError):
    """No customer with this id."""

    code = "not_found"
    http_status = 404


class ModelNotReady(IntelligenceError):
    """No trained model is active yet; run `manage.py train_models`."""

    code = "model_not_ready"
    http_status = 503


class InvalidQuery(IntelligenceError):
    """The customer filter is not valid."""

    code = "validation_error"
    http_status = 400


class NoTrainingData(IntelligenceError):
    """There are no orders to train on before as_of."""

    code = "no_training_data"
    http_status = 409
