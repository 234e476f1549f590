"""A JSON parser that turns every malformed body into a 400, never a 500."""

import json
import re

import orjson
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# A \uD800-\uDFFF escape that is not half of a pair decodes to a lone surrogate,
# which is not UTF-8 and breaks the database driver.
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
# orjson reads integers beyond 64 bits as floats (losing digits): bodies with a run of 19
# digits anywhere go to the standard library, which keeps them exact. Found by mapping every
# digit to "0" and looking for 19 zeros: ten times faster than a regular expression.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    """Rejects NaN/Infinity, NUL characters, invalid UTF-8 (also as unpaired
    surrogate escapes) and runaway nesting."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if len(raw) > settings.QUIMBI_MAX_REQUEST_BYTES:
            from django.core.exceptions import RequestDataTooBig

            raise RequestDataTooBig("Request body exceeds the size limit.")
        # PostgreSQL text cannot hold NUL, and no field of ours needs it.
        if b"\x00" in raw or b"\\u0000" in raw:
            raise ParseError("NUL characters are not allowed.")
        if _LONG_RUN not in raw.translate(_DIGITS_AS_ZERO):
            # orjson (several times faster on large batches) refuses everything refused below:
            # invalid UTF-8, lone surrogates, NaN/Infinity, nesting beyond 1,024 levels. What it
            # refuses is parsed again below, which says why (or accepts 1e400 as the standard
            # library does, leaving the record's checks to reject it).
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass
        return self._parse_exact(raw)

    def _parse_exact(self, raw: bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"Body is not valid UTF-8: {exc.reason}") from exc
        if "\\u" in text and _LONE_SURROGATE.search(text):
            raise ParseError("Unpaired UTF-16 surrogate escapes are not allowed.")
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except RecursionError as exc:
            raise ParseError("JSON is nested too deeply.") from exc
        except ValueError as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc
