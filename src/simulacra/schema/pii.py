"""Detection of columns (and strings) that hold personal data.

:func:`detect_pii` decides, from a column's name and a sample of its values, whether the column is
one of the :class:`~simulacra.schema.kinds.PiiKind` kinds. Value-based kinds (email, IP address,
card number, SSN, phone) need at least 90% of the sampled non-null values to match; person names
and street addresses also look at the column name. :func:`find_pii_in_text` counts strings that
contain personal data anywhere, for leakage checks on generated output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from .kinds import PiiKind

SAMPLE_SIZE = 2_000
"""At most this many non-null values (the first ones) are inspected per column."""

VALUE_THRESHOLD = 0.9
"""Share of sampled values that must match a value-based detector (email, IP, card, SSN, phone)."""

NAME_GATED_THRESHOLD = 0.8
"""Share of sampled values that must have the right shape when the column name already suggests PII."""

# --------------------------------------------------------------------------------------------------
# Patterns. ``_*_CORE`` strings have no anchors; they are used whole (fullmatch) for columns and with
# boundary guards (search) for free text.

_EMAIL_CORE = (
    r"[A-Za-z0-9](?:[A-Za-z0-9._%+'\-]*[A-Za-z0-9_%+\-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4_CORE = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H = r"[0-9A-Fa-f]{1,4}"
_IPV6_CORE = (
    "(?:"
    rf"(?:{_H}:){{7}}{_H}"
    rf"|(?:{_H}:){{1,7}}:"
    rf"|(?:{_H}:){{1,6}}:{_H}"
    rf"|(?:{_H}:){{1,5}}(?::{_H}){{1,2}}"
    rf"|(?:{_H}:){{1,4}}(?::{_H}){{1,3}}"
    rf"|(?:{_H}:){{1,3}}(?::{_H}){{1,4}}"
    rf"|(?:{_H}:){{1,2}}(?::{_H}){{1,5}}"
    rf"|{_H}:(?::{_H}){{1,6}}"
    rf"|:(?:(?::{_H}){{1,7}}|:)"
    rf"|(?:{_H}:){{6}}{_IPV4_CORE}"
    rf"|::(?:[Ff]{{4}}:)?{_IPV4_CORE}"
    ")"
)
_IP_CORE = rf"(?:{_IPV4_CORE}|{_IPV6_CORE})"

_CARD_CORE = r"\d(?:[ \-]?\d){12,18}"
_SSN_CORE = r"\d{3}-\d{2}-\d{4}"

# A phone number: optional +country code, then digit groups split by space, dash or dot (or an area
# code in parentheses), optionally an extension. Something must separate the groups, so plain
# integers never match; dates, IPv4 addresses and SSNs are excluded by look-aheads, and the digit
# count (7 to 15, the E.164 maximum) is checked separately.
_PHONE_GUARDS = (
    r"(?!\d{4}[\-./]\d{1,2}[\-./]\d{1,2}(?!\d))"  # 2021-01-05, 2021.01.05
    r"(?!\d{1,2}[\-./]\d{1,2}[\-./]\d{2,4}(?!\d))"  # 05-01-2021, 05.01.21
    rf"(?!{_IPV4_CORE}(?![\d.]))"  # 192.168.1.10
    r"(?!\d{3}-\d{2}-\d{4}(?!\d))"  # 123-45-6789 is an SSN
    r"(?!(?:1[89]|20)\d\d[ \-](?:1[89]|20)\d\d(?![ .\-]?\d))"  # 2021-2022, a range of years
)
_PHONE_BODY = (
    r"(?:\(\d{1,4}\)[ .\-]?\d{1,6}|\d{1,4}(?:[ \-]\d{1,6}|\.\d{1,4}\.\d{1,4})|0\d{4} \d{5,6})"
    r"(?:[ .\-]\d{1,6}){0,4}"
)
_PHONE_EXT = r"(?:\s*(?:x|ext\.?)\s*\d{1,6})?"
_PHONE_CORE = rf"{_PHONE_GUARDS}(?:\+\d{{1,3}}[ .\-]?)?{_PHONE_BODY}{_PHONE_EXT}"
# In free text numbers sit next to each other ("age 39 77516"), so a phone there needs a stronger
# shape: a +country code, an area code in parentheses, three groups ending in four digits, or a
# trunk-prefixed national number.
_PHONE_TEXT_CORE = (
    rf"{_PHONE_GUARDS}"
    rf"(?:\+\d{{1,3}}[ .\-]?{_PHONE_BODY}"
    r"|\(\d{1,4}\)[ .\-]?\d{1,6}(?:[ .\-]\d{1,6}){0,4}"
    r"|\d{2,4}([ .\-])\d{2,4}\1\d{4}"
    r"|0\d{4} \d{5,6})"
    rf"{_PHONE_EXT}"
)
_PHONE_MIN_DIGITS, _PHONE_MAX_DIGITS = 7, 15

_STREET_SUFFIXES = (
    # full words
    "Street|Avenue|Road|Boulevard|Lane|Drive|Way|Court|Place|Terrace|Circle|Parkway|Highway|Square|"
    "Trail|Plaza|Alley|Crescent|Loop|Row|Path|Pike|Turnpike|Expressway|Freeway|Crossing|Ridge|Run|"
    "Walk|Point|Park|Grove|Heights|Gardens?|Hills?|View|Cove|Creek|Landing|Meadows?|Glen|Manor|"
    "Estates?|Village|Commons?|Center|Station|Summit|Junction|Harbor|Valley|Lakes?|Mall|Mews|Oval|"
    "Pass|Passage|Route|Spur|Track|Trace|Vista|Causeway|Extension|Bypass|Motorway|Skyway|Throughway|"
    "Trafficway|Underpass|Overpass|Viaduct|Tunnel|Bridge|Ramp|Stravenue|Close|Green|Knolls?|Hollow|"
    "Orchard|Ranch|Shores?|Springs?|Isle|Island|Forest|Fields?|Falls|Brook|Port|Curve|Ways|"
    # abbreviations
    "St|Ave?|Rd|Blvd|Ln|Dr|Ct|Pl|Terr?|Cir|Pkwy|Hwy|Sq|Trl|Plz|Aly|Cres|Xing|Expy|Fwy|Tpke|Cswy|Ctr|"
    "Sta|Mnr|Hts|Jct|Vw|Byp|Grv|Lk|Pt|Rdg"
)
_STREET_CORE = (
    r"\d{1,6}[A-Za-z]?(?:-\d{1,4})?"  # house number: 12, 12B, 12-14
    r"(?:\s+(?:[NSEW]|NE|NW|SE|SW|North|South|East|West)\.?)?"
    r"(?:\s+[A-Za-z0-9][A-Za-z0-9'.\-]*){1,4}?"  # street name words (at least one)
    rf"\s+(?:{_STREET_SUFFIXES})\.?"
    r"(?:\s+(?:[NSEW]|NE|NW|SE|SW)\.?)?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Bldg|Room|Rm|#)\.?\s*#?\s*[A-Za-z0-9\-]+)?"
    r"(?:,\s*[^,]+(?:,\s*[^,]+){0,3})?"  # optional ", City, ST 12345"
)

_LETTER = r"[^\W\d_]"
_NAME_WORD = rf"(?:[A-ZÀ-ÖØ-Þ]{_LETTER}*(?:['’.\-]{_LETTER}*)*)"
_PARTICLE = r"(?:van|von|de|da|del|della|der|den|di|du|la|le|bin|ibn|al|el)"
_NAME_CORE = rf"(?:{_PARTICLE}\s+){{0,2}}{_NAME_WORD},?(?:\s+(?:{_PARTICLE}\s+){{0,2}}{_NAME_WORD},?){{0,3}}"

PII_PATTERNS: dict[PiiKind, re.Pattern[str]] = {
    PiiKind.EMAIL: re.compile(_EMAIL_CORE),
    PiiKind.IP_ADDRESS: re.compile(_IP_CORE),
    PiiKind.CARD_NUMBER: re.compile(_CARD_CORE),
    PiiKind.NATIONAL_ID: re.compile(_SSN_CORE),
    PiiKind.PHONE: re.compile(_PHONE_CORE, re.IGNORECASE),
    PiiKind.STREET_ADDRESS: re.compile(_STREET_CORE, re.IGNORECASE),
    PiiKind.PERSON_NAME: re.compile(_NAME_CORE),
    PiiKind.FIRST_NAME: re.compile(_NAME_CORE),
    PiiKind.LAST_NAME: re.compile(_NAME_CORE),
}
"""Whole-value patterns (use with ``fullmatch``). Card numbers must also pass :func:`luhn_valid`;
phone numbers must also have 7 to 15 digits."""

TEXT_PATTERNS: dict[PiiKind, re.Pattern[str]] = {
    PiiKind.EMAIL: re.compile(rf"(?<![A-Za-z0-9._%+'\-]){_EMAIL_CORE}(?![A-Za-z0-9\-])"),
    PiiKind.IP_ADDRESS: re.compile(rf"(?<![\w.:]){_IPV4_CORE}(?![\w.]*\d)|(?<![\w:]){_IPV6_CORE}(?![\w:])"),
    PiiKind.CARD_NUMBER: re.compile(rf"(?<![\d\-])(?<!\d )(?<!\d-){_CARD_CORE}(?![ \-]?\d)"),
    PiiKind.NATIONAL_ID: re.compile(rf"(?<![\d\-]){_SSN_CORE}(?![\-]?\d)"),
    PiiKind.PHONE: re.compile(
        rf"(?<![\w+(])(?<!\d[ .\-]){_PHONE_TEXT_CORE}(?![ .\-]?\d)(?![\w])", re.IGNORECASE
    ),
}
"""Patterns that find personal data inside free text (use with ``search``/``finditer``)."""

# --------------------------------------------------------------------------------------------------
# Column names


def _name_tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    return re.findall(r"[a-z0-9]+", spaced.lower())


_PERSON_WORDS = (
    "customer",
    "client",
    "person",
    "employee",
    "patient",
    "contact",
    "owner",
    "holder",
    "member",
    "student",
    "buyer",
    "seller",
    "recipient",
    "sender",
    "applicant",
    "passenger",
    "guest",
    "driver",
    "author",
    "manager",
    "teacher",
    "doctor",
    "physician",
    "beneficiary",
    "subscriber",
    "insured",
    "billing",
    "shipping",
    "emergency",
    "parent",
    "spouse",
    "full",
    "legal",
    "real",
)
_FIRST_ENDINGS = ("firstname", "givenname", "forename", "forenames", "christianname")
_LAST_ENDINGS = ("lastname", "surname", "familyname", "maidenname")
_NOT_STREET_WORDS = frozenset(
    {
        "email",
        "mail",
        "ip",
        "ipv4",
        "ipv6",
        "mac",
        "url",
        "web",
        "website",
        "wallet",
        "hardware",
        "hex",
        "memory",
        "mem",
        "host",
        "server",
        "contract",
        "token",
        "btc",
        "eth",
    }
)


def _name_kind(name: str) -> PiiKind | None:
    """The person-name kind a column name suggests, if any."""
    tokens = _name_tokens(name)
    joined = "".join(tokens)
    if not joined:
        return None
    if joined.endswith(_FIRST_ENDINGS) or joined in {"fname", "first", "given"}:
        return PiiKind.FIRST_NAME
    if joined.endswith(_LAST_ENDINGS) or joined in {"lname", "last", "family"}:
        return PiiKind.LAST_NAME
    if joined in {"name", "names"} or any(joined.endswith(p + "name") for p in _PERSON_WORDS):
        return PiiKind.PERSON_NAME
    return None


def _address_name(name: str) -> bool:
    tokens = _name_tokens(name)
    joined = "".join(tokens)
    if not ("address" in joined or "street" in joined or joined in {"addr", "address1", "address2"}):
        return False
    if any(t in _NOT_STREET_WORDS for t in tokens):
        return False
    return not joined.startswith(("emailaddress", "ipaddress", "ipv4address", "ipv6address", "macaddress"))


# --------------------------------------------------------------------------------------------------
# Helpers


def luhn_valid(number: str) -> bool:
    """Whether the digits of ``number`` (separators ignored) pass the Luhn checksum."""
    digits = [int(c) for c in str(number) if c.isdigit()]
    if not digits:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_ok(s: str) -> bool:
    n = sum(c.isdigit() for c in s)
    return 13 <= n <= 19 and luhn_valid(s)


def _phone_digits_ok(s: str) -> bool:
    n = sum(c.isdigit() for c in s)
    return _PHONE_MIN_DIGITS <= n <= _PHONE_MAX_DIGITS


def _sample_strings(values: pd.Series) -> pd.Series:
    """The first ``SAMPLE_SIZE`` non-null, non-blank values, as stripped strings."""
    s = values.dropna()
    if len(s) > 4 * SAMPLE_SIZE:
        s = s.iloc[: 4 * SAMPLE_SIZE]  # enough to find SAMPLE_SIZE non-blank ones in practice
    s = s.astype(str).str.strip()
    s = s[s != ""]
    return s.iloc[:SAMPLE_SIZE].reset_index(drop=True)


def _share(mask: pd.Series) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def _card_share(s: pd.Series) -> float:
    shaped = s.str.fullmatch(PII_PATTERNS[PiiKind.CARD_NUMBER])
    if _share(shaped) < VALUE_THRESHOLD:
        return 0.0
    return _share(shaped & s.map(_card_ok).astype(bool))


# --------------------------------------------------------------------------------------------------
# Public API


def detect_pii(name: str, values: pd.Series) -> PiiKind | None:
    """Return the kind of personal data column ``name`` holds, or ``None``.

    Looks at the first 2,000 non-null values. Numeric columns are only ever card numbers (integers of
    13 to 19 Luhn-valid digits); booleans and datetimes are never personal data.
    """
    values = values if isinstance(values, pd.Series) else pd.Series(values)
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return None
    if isinstance(dtype, pd.PeriodDtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype):
        if not pd.api.types.is_integer_dtype(dtype):
            return None
        s = _sample_strings(values)
        if s.empty:
            return None
        return PiiKind.CARD_NUMBER if _card_share(s) >= VALUE_THRESHOLD else None

    s = _sample_strings(values)
    if s.empty:
        return None

    def share(kind: PiiKind) -> float:
        return _share(s.str.fullmatch(PII_PATTERNS[kind]))

    if share(PiiKind.EMAIL) >= VALUE_THRESHOLD:
        return PiiKind.EMAIL
    if share(PiiKind.IP_ADDRESS) >= VALUE_THRESHOLD:
        return PiiKind.IP_ADDRESS
    if _card_share(s) >= VALUE_THRESHOLD:
        return PiiKind.CARD_NUMBER
    if share(PiiKind.NATIONAL_ID) >= VALUE_THRESHOLD:
        return PiiKind.NATIONAL_ID
    phone = s.str.fullmatch(PII_PATTERNS[PiiKind.PHONE])
    if _share(phone) >= VALUE_THRESHOLD:
        ndig = s.str.count(r"\d")
        if _share(phone & ndig.between(_PHONE_MIN_DIGITS, _PHONE_MAX_DIGITS)) >= VALUE_THRESHOLD:
            return PiiKind.PHONE

    name_kind = _name_kind(name)
    if name_kind is not None and share(name_kind) >= NAME_GATED_THRESHOLD:
        return name_kind

    street = share(PiiKind.STREET_ADDRESS)
    if street >= VALUE_THRESHOLD:
        return PiiKind.STREET_ADDRESS
    if _address_name(name):
        if street >= NAME_GATED_THRESHOLD:
            return PiiKind.STREET_ADDRESS
        looks = s.str.contains(r"\d") & s.str.contains(r"[^\W\d_]{2}") & s.str.contains(r"\s")
        if _share(looks) >= NAME_GATED_THRESHOLD:
            return PiiKind.STREET_ADDRESS
    return None


def find_pii_in_text(values: Iterable[str]) -> dict[PiiKind, int]:
    """Count the strings that contain an email, phone, card (Luhn-valid), SSN or IP address anywhere.

    Returns a count for each of those five kinds (zero included); a string counts once per kind.
    Values that are not strings are skipped.
    """
    counts = dict.fromkeys(TEXT_PATTERNS, 0)
    card_re = TEXT_PATTERNS[PiiKind.CARD_NUMBER]
    phone_re = TEXT_PATTERNS[PiiKind.PHONE]
    simple = [k for k in TEXT_PATTERNS if k not in (PiiKind.CARD_NUMBER, PiiKind.PHONE)]
    for text in values:
        if not isinstance(text, str) or not text:
            continue
        for kind in simple:
            if TEXT_PATTERNS[kind].search(text):
                counts[kind] += 1
        if any(_card_ok(m.group()) for m in card_re.finditer(text)):
            counts[PiiKind.CARD_NUMBER] += 1
        if any(_phone_digits_ok(m.group()) for m in phone_re.finditer(text)):
            counts[PiiKind.PHONE] += 1
    return counts
