"""Fresh, realistic personal data, made vectorised from Faker's bundled en_US word lists.

These values replace PII columns in synthetic output. They are never taken from input data: names
come from Faker's locale lists, and every identifier is drawn from a range that cannot belong to a
real person or host — reserved example domains for emails, 555-01xx fictional phone numbers, SSN
area numbers 900–999 (never issued), a test-card BIN for card numbers, and the documentation
address blocks for IPs. Output depends only on the generator passed in.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import numpy as np
import pandas as pd

from .kinds import PiiKind
from .pii import PII_PATTERNS

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
"""Reserved for documentation (RFC 2606): no real mailbox can be named."""

IP_NETWORKS = ("192.0.2", "198.51.100", "203.0.113")
"""The three /24 blocks reserved for documentation (RFC 5737)."""

CARD_PREFIX = "400000"
"""A Visa test-card prefix: numbers built on it are Luhn-valid but not real cards."""

_CARD_PAYLOAD_DIGITS = 15 - len(CARD_PREFIX)


# --------------------------------------------------------------------------------------------------
# Word lists (loaded once)


def _weighted(words: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    names = np.array(list(words.keys()), dtype=object)
    weights = np.array(list(words.values()), dtype=float)
    cdf = np.cumsum(weights)
    return names, cdf / cdf[-1]


@lru_cache(maxsize=1)
def _first_names() -> tuple[np.ndarray, np.ndarray]:
    from faker.providers.person.en_US import Provider

    merged: dict[str, float] = {}
    for table in (Provider.first_names_male, Provider.first_names_female):
        total = float(sum(table.values()))
        for name, w in table.items():  # each sex gets half the mass, as Faker's ``first_name`` does
            merged[name] = merged.get(name, 0.0) + 0.5 * float(w) / total
    return _weighted(merged)


@lru_cache(maxsize=1)
def _last_names() -> tuple[np.ndarray, np.ndarray]:
    from faker.providers.person.en_US import Provider

    return _weighted(dict(Provider.last_names))


@lru_cache(maxsize=1)
def _street_suffixes() -> np.ndarray:
    from faker.providers.address.en_US import Provider

    pattern = PII_PATTERNS[PiiKind.STREET_ADDRESS]
    # Keep the suffixes a reader (and the detector) takes for a street; duplicates in Faker's tuple
    # (Street, Road, ...) keep their extra weight.
    keep = [s for s in Provider.street_suffixes if pattern.fullmatch(f"1 Main {s}")]
    return np.array(keep, dtype=object)


@cache
def _numbers(width: int) -> np.ndarray:
    """``'000'...'999'`` style zero-padded strings for all ``10**width`` values."""
    return np.array([f"{i:0{width}d}" for i in range(10**width)], dtype=object)


@cache
def _plain_numbers(limit: int) -> np.ndarray:
    """``'0'...str(limit - 1)`` without padding."""
    return np.array([str(i) for i in range(limit)], dtype=object)


def _draw(table: tuple[np.ndarray, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    names, cdf = table
    idx = np.searchsorted(cdf, rng.random(n), side="right")
    return names[np.minimum(idx, len(names) - 1)]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def _map_unique(values: np.ndarray, func) -> np.ndarray:
    """Apply ``func`` once per distinct value (names repeat a lot) and spread the results."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    table = np.array([func(u) for u in uniques], dtype=object)
    return table[codes] if len(table) else np.array([], dtype=object)


def _cat(*parts: np.ndarray | str) -> np.ndarray:
    out = parts[0] if isinstance(parts[0], np.ndarray) else np.array(parts[0], dtype=object)
    for p in parts[1:]:
        out = out + p
    return out


# --------------------------------------------------------------------------------------------------
# Public API


def fake_people(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw ``n`` people: ``{'first_name': ..., 'last_name': ...}`` object arrays.

    First names mix both sexes, each name weighted by its frequency in Faker's en_US lists.
    """
    n = _check_n(n)
    first = _draw(_first_names(), n, rng)
    last = _draw(_last_names(), n, rng)
    return {"first_name": first, "last_name": last}


def fake_column(
    kind: PiiKind,
    n: int,
    rng: np.random.Generator,
    people: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Return an object array of ``n`` fresh values of personal-data ``kind``.

    When ``people`` (from :func:`fake_people`) is given, emails and names are built from it so a row's
    email, full name, first and last name agree. Only ``rng`` supplies randomness.
    """
    n = _check_n(n)
    kind = PiiKind(kind)
    if people is not None:
        for key in ("first_name", "last_name"):
            if key not in people or len(people[key]) != n:
                raise ValueError(f"people[{key!r}] must hold {n} values")
    if kind in (PiiKind.EMAIL, PiiKind.PERSON_NAME, PiiKind.FIRST_NAME, PiiKind.LAST_NAME):
        if people is None:
            people = fake_people(n, rng)
        first = np.asarray(people["first_name"], dtype=object)
        last = np.asarray(people["last_name"], dtype=object)
        if kind == PiiKind.FIRST_NAME:
            return first.copy()
        if kind == PiiKind.LAST_NAME:
            return last.copy()
        if kind == PiiKind.PERSON_NAME:
            return _cat(first, " ", last)
        return _emails(first, last, rng)
    if kind == PiiKind.PHONE:
        return _phones(n, rng)
    if kind == PiiKind.STREET_ADDRESS:
        return _street_addresses(n, rng)
    if kind == PiiKind.NATIONAL_ID:
        return _ssns(n, rng)
    if kind == PiiKind.CARD_NUMBER:
        return _cards(n, rng)
    if kind == PiiKind.IP_ADDRESS:
        return _ips(n, rng)
    raise ValueError(f"no fake values for {kind!r}")  # pragma: no cover - every PiiKind is handled


def _check_n(n: int) -> int:
    n = int(n)
    if n < 0:
        raise ValueError("n must be non-negative")
    return n


def _emails(first: np.ndarray, last: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(first)
    f = _map_unique(first, lambda v: _slug(v) or "user")
    initial = _map_unique(first, lambda v: (_slug(v) or "u")[0])
    la = _map_unique(last, lambda v: _slug(v) or "user")
    style = rng.integers(0, 4, size=n)  # jane.doe, jane_doe, janedoe, jdoe
    head = np.array([".", "_", "", ""], dtype=object)[style]
    head = np.where(style == 3, initial, f + head)
    with_number = rng.random(n) < 0.5
    digits = _plain_numbers(100)[rng.integers(0, 100, size=n)]
    suffix = np.where(with_number, digits, np.array("", dtype=object))
    domain = np.array(["@" + d for d in EMAIL_DOMAINS], dtype=object)[rng.integers(0, len(EMAIL_DOMAINS), n)]
    return _cat(head, la, suffix, domain)


def _phones(n: int, rng: np.random.Generator) -> np.ndarray:
    area = rng.integers(200, 1000, size=n)  # never starts with 0 or 1
    line = rng.integers(0, 100, size=n)  # 555-0100..555-0199 are reserved for fiction
    return _cat("(", _numbers(3)[area], ") 555-01", _numbers(2)[line])


def _street_addresses(n: int, rng: np.random.Generator) -> np.ndarray:
    width = rng.integers(3, 6, size=n)  # Faker's '###', '####', '#####'
    lo = 10 ** (width - 1)
    number = lo + (rng.random(n) * (9 * lo)).astype(np.int64)
    use_last = rng.random(n) < 0.5  # Faker's street names: '{first_name} {suffix}' or '{last_name} ...'
    name = np.where(use_last, _draw(_last_names(), n, rng), _draw(_first_names(), n, rng))
    suffixes = _street_suffixes()
    suffix = suffixes[rng.integers(0, len(suffixes), size=n)]
    unit_kind = rng.random(n)
    unit_no = _numbers(3)[rng.integers(100, 1000, size=n)]
    empty = np.array("", dtype=object)
    suite = np.where(unit_kind < 0.15, " Suite " + unit_no, empty)
    unit = np.where(unit_kind < 0.1, " Apt. " + unit_no, suite)
    number_str = number.astype(str).astype(object)
    return _cat(number_str, " ", name, " ", suffix, unit)


def _ssns(n: int, rng: np.random.Generator) -> np.ndarray:
    area = rng.integers(900, 1000, size=n)  # 900-999 are never issued
    group = rng.integers(1, 100, size=n)
    serial = rng.integers(1, 10_000, size=n)
    return _cat(_numbers(3)[area], "-", _numbers(2)[group], "-", _numbers(4)[serial])


def _cards(n: int, rng: np.random.Generator) -> np.ndarray:
    payload = rng.integers(0, 10, size=(n, _CARD_PAYLOAD_DIGITS), dtype=np.int64)
    prefix = np.array([int(c) for c in CARD_PREFIX], dtype=np.int64)
    digits = np.hstack([np.broadcast_to(prefix, (n, len(prefix))), payload])  # 15 digits
    # Luhn: from the right of the full 16-digit number, the check digit is not doubled and the digit
    # before it is, so the even positions (0, 2, ..., 14) of the 15-digit payload are doubled.
    doubled = digits[:, 0::2] * 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = doubled.sum(axis=1) + digits[:, 1::2].sum(axis=1)
    check = (10 - total % 10) % 10
    value = digits @ (10 ** np.arange(14, -1, -1, dtype=np.int64)) * 10 + check
    return value.astype(str).astype(object)


def _ips(n: int, rng: np.random.Generator) -> np.ndarray:
    nets = np.array([p + "." for p in IP_NETWORKS], dtype=object)[rng.integers(0, len(IP_NETWORKS), n)]
    host = rng.integers(1, 255, size=n)  # not the network (.0) or broadcast (.255) address
    return _cat(nets, _plain_numbers(256)[host])
