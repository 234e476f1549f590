"""OpenAPI generation: the error answers every operation can give, documented once.

Views document their own success bodies and the errors peculiar to them (an
`OpenApiResponse(description=...)` without a body gets the error envelope). The
answers that come from the shared machinery (authentication, throttling, the
JSON parser, the idempotency middleware, pagination, the database) are the
same everywhere, so they are added here to every operation they apply to,
with the one error envelope of quimbi_site/api/exceptions.py.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

_BODY_METHODS = ("POST", "PUT", "PATCH")
_WRITE_METHODS = (*_BODY_METHODS, "DELETE")
IDEMPOTENCY_HEADER = "Idempotency-Key"


class ApiErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(help_text="Field errors or other specifics; may be empty.")


@extend_schema_serializer(component_name="ApiError")
class ApiErrorSerializer(serializers.Serializer):
    """The error envelope every /api/ error uses."""

    error = ApiErrorDetailSerializer()


_DESCRIPTIONS = {
    "400": "Malformed or invalid request (details: the fields at fault).",
    "401": "Missing, invalid, revoked or expired X-API-Key.",
    "403": "The key or user is not allowed this operation.",
    "404": "No such object (or not visible to the caller), or no such page.",
    "409": "Conflicts with the object's current state (e.g. a status change not allowed from here, "
    "an object still in use), or the same Idempotency-Key is still in flight.",
    "413": "The request body is too large.",
    "415": "The body is not application/json.",
    "429": "Throttled; see Retry-After.",
    "503": "A dependency (database, model, generation backend) is unavailable; see Retry-After.",
}


class QuimbiAutoSchema(AutoSchema):
    def get_auth(self):
        # The global SECURITY setting and the X-API-Key extension name the same scheme.
        auths = []
        for requirement in super().get_auth():
            if requirement not in auths:
                auths.append(requirement)
        return auths

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(schema, dict):
            return schema
        # drf-spectacular leaves out these limits, which DRF enforces.
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
            min_items = field.min_length or (0 if field.allow_empty else 1)
            if min_items:
                schema["minItems"] = min_items
        if (
            isinstance(field, serializers.DecimalField)
            and schema.get("type") == "string"
            and field.max_digits
        ):
            schema.setdefault("maxLength", field.max_digits + 2)  # digits, sign and point
        return schema

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self._constrain_parameters(operation)
        responses = operation["responses"]
        for code, response in responses.items():
            # A view lists an error it can give as OpenApiResponse(description=...); the body is the envelope.
            if code.isdigit() and int(code) >= 400 and "content" not in response:
                response["content"] = self._get_response_for_code(ApiErrorSerializer, code)["content"]
        for code in self._shared_error_codes(operation):
            if code not in responses:
                responses[code] = self._get_response_for_code(ApiErrorSerializer, code)
                responses[code]["description"] = _DESCRIPTIONS[code]
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _constrain_parameters(self, operation: dict) -> None:
        params = operation.setdefault("parameters", [])
        for param in params:
            # Django's <int:...> converter matches digits only: "-1" is no route at all.
            if param["in"] == "path" and f"<int:{param['name']}>" in self.path_regex:
                param["schema"] = {**param["schema"], "minimum": 0}
        if self.method == "POST":
            # IdempotencyKeyMiddleware serves every /api/ POST and refuses other lengths.
            header = next((p for p in params if p["name"] == IDEMPOTENCY_HEADER), None)
            if header is None:
                header = {
                    "in": "header",
                    "name": IDEMPOTENCY_HEADER,
                    "required": False,
                    "description": (
                        "Retries with the same key replay the first successful response for 24 h."
                    ),
                }
                params.append(header)
            header["schema"] = {"type": "string", "minLength": 1, "maxLength": 255}
        if not params:
            del operation["parameters"]

    def _shared_error_codes(self, operation: dict) -> list[str]:
        params = operation.get("parameters", [])
        security = operation.get("security", [])
        codes = ["503"]
        if self.method in _BODY_METHODS or any(p["in"] == "query" for p in params):
            codes.append("400")
        if any(security) and {} not in security:  # {} would mean "or no credentials at all"
            codes += ["401", "403"]
        if any(p["in"] == "path" for p in params) or any(p["name"] == "page" for p in params):
            codes.append("404")
        if self.method in _WRITE_METHODS:
            codes.append("409")
        if "requestBody" in operation:
            codes += ["413", "415"]
        if getattr(self.view, "throttle_scope", None) and self.view.get_throttles():
            codes.append("429")
        return codes
