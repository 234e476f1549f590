"""Field checks shared by every kind of record: identity, text, money, times, keys.

`Checker` collects every field error of a record; `money_fast`, `parse_time` and
`record_key` read the common valid forms cheaply for the fast paths.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# REFERENCE.md "Identity rules": values that never link two records.
BLOCKED_IDS = frozenset({"null", "none", "nil", "nan", "anonymous", "undefined", "unknown", "n/a"})
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MONEY_LIMIT = Decimal("1000000000000")  # 14 digits, 2 of them decimal places
_CENT = Decimal("0.01")
_MIN_TIME = datetime(1900, 1, 1, tzinfo=UTC)
_MAX_TIME = datetime(2200, 1, 1, tzinfo=UTC)
MAX_LINES = 1000
MAX_METADATA_BYTES = 16 * 1024
MAX_PROPERTIES_BYTES = 32 * 1024
_REQUIRED = "This field is required."


def identity_blocked(value: str) -> bool:
    """True for identity values that must never link records ('', '0', '-1', 'null', ...)."""
    v = value.strip().lower()
    return v in BLOCKED_IDS or v == "-1" or not v.strip("0-")  # only zeros and dashes


BAD = object()
_MONEY_RE = re.compile(r"\d{1,12}(?:\.\d{0,2})?")
ZERO = Decimal("0.00")


def money_fast(v: Any) -> Any:
    """A money value in one of its common valid forms, as is (the database rounds to cents), else BAD."""
    t = type(v)
    if t is float:
        return v if 0.0 <= v < 1e12 else BAD  # NaN and infinities fail the comparison
    if t is int:
        return v if 0 <= v < 1_000_000_000_000 else BAD
    if t is str and _MONEY_RE.fullmatch(v):
        return v
    return BAD


class Checker:
    """Collects field errors for one record."""

    __slots__ = ("errors", "record")

    def __init__(self, record: dict):
        self.record = record
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def text(self, name: str, max_length: int, *, required: bool = False, value: Any = None) -> str:
        v = self.record.get(name) if value is None else value
        if type(v) is str and 0 < len(v) <= max_length and "\x00" not in v:  # the common case, fast
            return v
        if v is None or v == "":
            if required:
                self.add(name, _REQUIRED)
            return ""
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        elif not isinstance(v, str):
            self.add(name, "Must be a string.")
            return ""
        if len(v) > max_length:
            self.add(name, f"At most {max_length} characters.")
        elif "\x00" in v:
            self.add(name, "NUL characters are not allowed.")
        return v

    def money(self, name: str, *, required: bool = False, value: Any = None, default: Any = None) -> Any:
        v = self.record.get(name) if value is None else value
        fast = money_fast(v)
        if fast is not BAD:
            return fast
        if v is None or v == "":
            if required:
                self.add(name, _REQUIRED)
            return default
        if isinstance(v, bool) or not isinstance(v, int | float | str | Decimal):
            self.add(name, "Must be a number.")
            return default
        if isinstance(v, float) and not math.isfinite(v):
            self.add(name, "Must be a finite number.")
            return default
        try:
            d = Decimal(v if isinstance(v, str | Decimal) else str(v))
        except (InvalidOperation, ValueError):
            self.add(name, "Must be a number.")
            return default
        if not d.is_finite():
            self.add(name, "Must be a finite number.")
            return default
        if d < 0:
            self.add(name, "Must not be negative.")
            return default
        if d >= MONEY_LIMIT:
            self.add(name, "At most 12 digits before the decimal point.")
            return default
        return d.quantize(_CENT)

    def integer(self, name: str, value: Any, lo: int, hi: int, default: int) -> int:
        if type(value) is int and lo <= value <= hi:
            return value
        if value is None:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(name, "Must be an integer.")
            return default
        if not lo <= value <= hi:
            self.add(name, f"Must be between {lo} and {hi}.")
            return default
        return value

    def when(self, name: str, *, required: bool = False) -> datetime | None:
        v = self.record.get(name)
        if v is None or v == "":
            if required:
                self.add(name, _REQUIRED)
            return None
        dt = parse_time(v)
        if dt is None:
            self.add(name, "Must be an ISO 8601 date-time between 1900 and 2199.")
        return dt

    def choice(self, name: str, choices: frozenset, default: str) -> str:
        v = self.record.get(name)
        if v is None or v == "":
            return default
        if not isinstance(v, str) or v not in choices:
            self.add(name, f"Must be one of {', '.join(sorted(choices))}.")
            return default
        return v

    def json_dict(self, name: str, max_bytes: int) -> dict:
        v = self.record.get(name)
        if v is None:
            return {}
        if not isinstance(v, dict):
            self.add(name, "Must be an object.")
            return {}
        try:
            dumped = json.dumps(v, allow_nan=False, default=str)
        except (ValueError, RecursionError, TypeError):
            self.add(name, "Must be JSON without NaN/Infinity or deep nesting.")
            return {}
        if len(dumped) > max_bytes:
            self.add(name, f"At most {max_bytes} bytes when serialised.")
        elif "\\u0000" in dumped:
            self.add(name, "NUL characters are not allowed.")
        return v

    def identity(self) -> tuple[str | None, str | None, int | None]:
        """The record's (customer_id, email, platform_customer_id), with blocked values dropped.

        `platform_customer_id` is Quimbi's own customer id: applications built on the platform
        (support, marketing) name the customer they already know by it.
        """
        cid = self.text("customer_id", 255) or None
        if cid is not None and identity_blocked(cid):
            cid = None
        email = self.text("email", 254) or None
        if email is not None:
            email = email.strip().lower()
            if identity_blocked(email):
                email = None
            elif not EMAIL_RE.match(email):
                self.add("email", "Enter a valid email address.")
                email = None
        platform_pk = self._platform_pk()
        if (
            cid is None
            and email is None
            and platform_pk is None
            and not {"customer_id", "email", "platform_customer_id"} & self.errors.keys()
        ):
            self.add(
                "customer_id",
                "A customer_id, email or platform_customer_id is required (blocked values do not count).",
            )
        return cid, email, platform_pk

    def _platform_pk(self) -> int | None:
        v = self.record.get("platform_customer_id")
        if v is None or v == "":
            return None
        if isinstance(v, bool) or not isinstance(v, (int, str)) or not str(v).isascii():
            self.add("platform_customer_id", "Must be a platform customer id (a positive integer).")
            return None
        text = str(v).strip()
        if not text.isdigit() or len(text) > 18 or int(text) <= 0:
            self.add("platform_customer_id", "Must be a platform customer id (a positive integer).")
            return None
        return int(text)


def parse_time(v: Any) -> datetime | None:
    """An ISO 8601 string (or datetime) as an aware UTC datetime (naive means UTC); None if invalid."""
    if type(v) is str and len(v) <= 40:
        try:
            dt = datetime.fromisoformat(v)
        except ValueError:
            return None
    elif isinstance(v, datetime):
        dt = v
    else:
        return None
    tz = dt.tzinfo
    if tz is None:
        dt = dt.replace(tzinfo=UTC)
    elif tz is not UTC:
        try:
            dt = dt.astimezone(UTC)
        except OverflowError:
            # Year 1 with a positive offset (or 9999 with a negative one) has no UTC datetime.
            return None
    return dt if _MIN_TIME <= dt < _MAX_TIME else None


def record_key(record: Any, id_key: str, versioned: bool) -> tuple[str | None, datetime | None, bool]:
    """`(key, updated_at, ok)` read cheaply, before full validation.

    A record whose key is already stored and that is not newer is a duplicate and
    is not validated further; `ok` is False when the version itself is invalid.
    """
    if type(record) is not dict:
        return None, None, False
    key = record.get(id_key)
    if type(key) is int:
        key = str(key)
    if type(key) is not str or not 0 < len(key) <= 255 or "\x00" in key:
        return None, None, False
    if not versioned:
        return key, None, True
    raw = record.get("updated_at")
    if raw is None or raw == "":
        return key, None, True
    version = parse_time(raw)
    return key, version, version is not None


class Unreadable(str):
    """What a file reader yields in place of a record it could not read: the reason, which the
    record's error then gives (rather than every field it lacks)."""

    __slots__ = ()


def not_a_dict(record: Any) -> dict[str, list[str]] | None:
    if isinstance(record, Unreadable):
        return {"non_field_errors": [str(record)]}
    if not isinstance(record, dict):
        return {"non_field_errors": ["Each record must be an object."]}
    return None
