"""Strict JSON strings at the API boundary.

DRF's CharField (and EmailField, SlugField, ... built on it) turns a JSON
number into a string: `{"subject": 0}` would be stored as "0". The schema says
string, so a number there is invalid data and is refused like any other wrong
type. Installed once from QuimbiSiteConfig.ready(), so every app's serializers
get it without importing the site. Query parameters are strings already; free
JSON (JSONField, DictField) and the ingestion records (validated by the
ingestion service, which takes numeric ids on purpose) are not affected.
"""

from rest_framework import serializers

_MARK = "_quimbi_strict_strings"


def install_strict_strings() -> None:
    lenient = serializers.CharField.to_internal_value
    if getattr(lenient, _MARK, False):
        return

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return lenient(self, data)

    setattr(to_internal_value, _MARK, True)
    serializers.CharField.to_internal_value = to_internal_value
