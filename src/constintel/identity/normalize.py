"""Identifier normalization and the junk list (pure; no database).

- email: trimmed and lower-cased; a value without ``local@domain.tld`` shape is not an email.
- phone: E.164 via ``phonenumbers``, read with the address country when the payload gives one,
  else the brand's default region. A number ``phonenumbers`` cannot validate (the seed's own
  ``+1-555-0123``, most vendor sample numbers) is kept as ``+`` and its digits (country code
  included when it can be inferred), still links exact matches, and is marked unverified.
- other kinds (loyalty_id, cookie_id, device_id, platform customer ids): trimmed; loyalty ids
  upper-cased (cards are read back by staff in any case).

Junk values never link anyone: the built-in lists below plus the brand's own additions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from constintel.events.schemas import RawIdentifier

__all__ = [
    "JUNK_EMAILS",
    "JUNK_EMAIL_LOCAL_PARTS",
    "JUNK_VALUES",
    "Identifier",
    "JunkList",
    "normalize_email",
    "normalize_identifiers",
    "normalize_phone",
]

JUNK_VALUES = frozenset(
    {
        "",
        "null",
        "none",
        "nil",
        "undefined",
        "anonymous",
        "unknown",
        "n/a",
        "na",
        "-",
        "0",
        "guest",
        "test",
        "noemail",
        "no email",
        "nophone",
        "no phone",
    }
)
JUNK_EMAILS = frozenset(
    {
        "test@test.com",
        "test@example.com",
        "email@example.com",
        "example@example.com",
        "a@a.com",
        "none@none.com",
        "noemail@noemail.com",
        "no@email.com",
        "na@na.com",
        "null@null.com",
        "customer@customer.com",
        "guest@guest.com",
        "anonymous@anonymous.com",
    }
)
JUNK_EMAIL_LOCAL_PARTS = frozenset(
    {
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "mailer-daemon",
        "postmaster",
        "nobody",
    }
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NON_DIGITS = re.compile(r"\D")
_LETTERS = re.compile(r"[A-Za-z]")
# Regions whose national numbers are the 10 NANP digits (country code 1).
_NANP_REGIONS = frozenset({"US", "CA", "PR", "VI", "GU", "AS", "MP", "BS", "BB", "JM", "TT", "DO"})
_NANP_NATIONAL = 10
_MIN_PHONE_DIGITS = 7
PHONE_CACHE_SIZE = 262_144
PLATFORM_CUSTOMER_ID_SUFFIX = "_customer_id"


@dataclass(frozen=True, slots=True)
class Identifier:
    """A normalized identifier: ``kind``, ``value`` and whether the value was validated."""

    kind: str
    value: str
    verified: bool = True


def normalize_email(raw: str) -> str | None:
    """Lower-cased, trimmed email, or None if it is not an email or is junk."""
    value = raw.strip().lower()
    if not _EMAIL_RE.match(value) or value in JUNK_EMAILS:
        return None
    if value.split("@", 1)[0] in JUNK_EMAIL_LOCAL_PARTS:
        return None
    return value


def _is_junk_digits(digits: str) -> bool:
    national = digits[-10:]
    return (
        len(digits) < _MIN_PHONE_DIGITS
        or len(set(national)) == 1
        or national in ("1234567890", "0123456789", "9876543210")
    )


def normalize_phone(raw: str, region: str) -> tuple[str, bool] | None:
    """(E.164 or ``+digits``, verified) for a phone as written, or None if it is junk.

    Formatting does not change the answer, so the parse is cached on the digits (with the
    ``+`` if written): ``(212) 555-0199`` and ``212.555.0199`` share one parse. Numbers with
    letters (vanity numbers, extensions) are parsed as written.
    """
    text = raw.strip()
    if text.lower() in JUNK_VALUES:
        return None
    if _LETTERS.search(text):
        return _parse_phone(text, region)
    digits = _NON_DIGITS.sub("", text)
    if _is_junk_digits(digits):
        return None
    if text.startswith("+"):
        return _parse_phone("+" + digits, region)
    if region in _NANP_REGIONS and (
        len(digits) == _NANP_NATIONAL or (len(digits) == _NANP_NATIONAL + 1 and digits[0] == "1")
    ):
        # North American numbering: 10 national digits, optionally after the country code 1,
        # so every national spelling shares the cache entry of its E.164 form.
        return _parse_phone("+1" + digits[-_NANP_NATIONAL:], region)
    return _parse_phone(digits, region)


@lru_cache(maxsize=PHONE_CACHE_SIZE)
def _parse_phone(text: str, region: str) -> tuple[str, bool] | None:
    digits = _NON_DIGITS.sub("", phonenumbers.convert_alpha_characters_in_number(text))
    if _is_junk_digits(digits):
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), True
    if parsed is not None and parsed.country_code and parsed.national_number:
        national = str(parsed.national_number)
        if parsed.italian_leading_zero:
            national = "0" * (parsed.number_of_leading_zeros or 1) + national
        return f"+{parsed.country_code}{national}", False
    return f"+{digits}", False


class JunkList:
    """The built-in junk list plus a brand's own additions (its store phone, its email)."""

    def __init__(self, *, emails: Iterable[str] = (), phones: Iterable[str] = (), region: str):
        self.emails = frozenset(e.strip().lower() for e in emails)
        own: set[str] = set()
        for phone in phones:
            got = normalize_phone(phone, region)
            if got is not None:
                own.add(got[0])
        self.phones = frozenset(own)


def normalize_identifiers(
    raw: Iterable[RawIdentifier], *, region: str, junk: JunkList | None = None
) -> list[Identifier]:
    """Normalize, drop junk and duplicates; order of first appearance is kept.

    When a payload's email is junk, its platform customer id (``shopify_customer_id``, ...) is
    dropped too: platforms file every order typed with ``test@test.com`` under one customer
    record, so that id is as shared as the email.
    """
    out: list[Identifier] = []
    seen: set[tuple[str, str]] = set()
    junk_email = False
    for item in raw:
        kind = item.kind
        ident: Identifier | None
        if kind == "email":
            value = normalize_email(item.value)
            if value is None or (junk is not None and value in junk.emails):
                junk_email = True  # "" and "none" too: the record is keyed by nothing
                continue
            ident = Identifier("email", value)
        elif kind == "phone":
            got = normalize_phone(item.value, (item.country or region).upper())
            if got is None or (junk is not None and got[0] in junk.phones):
                continue
            ident = Identifier("phone", got[0], got[1])
        else:
            value = item.value.strip()
            if value.lower() in JUNK_VALUES:
                continue
            if kind == "loyalty_id":
                value = value.upper()
            ident = Identifier(kind, value)
        key = (ident.kind, ident.value)
        if key not in seen:
            seen.add(key)
            out.append(ident)
    if junk_email:
        out = [i for i in out if not i.kind.endswith(PLATFORM_CUSTOMER_ID_SUFFIX)]
    return out
