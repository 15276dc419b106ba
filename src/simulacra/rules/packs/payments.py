"""Python half of the ``payments`` pack: entity attributes and labelled fraud typologies.

Entity attributes (a card's number, home country and usual device; a merchant's MCC, country and
name) are keyed hashes of the entity's id, so every table that mentions the entity agrees on them
without sharing state. Their hash keys come from ``derive_rng(seed, "payments", "entity", what)``:
they must not depend on the chunk. Everything drawn per row comes from
``derive_rng(seed, "payments", table, purpose, k)``, so chunk ``k`` is the same however it is made.

Fraud (transactions only): ``is_fraud`` arrives holding the configured rate (the single value of its
empirical distribution). ``Binomial(n, rate)`` rows of the chunk are drawn and split between four
typologies, whose rows are rewritten to follow their pattern:

* ``card_testing``: bursts of 8 tiny (0.50-2.00) e-commerce purchases on one card at a digital-goods
  merchant, seconds apart, from a fraudster device.
* ``account_takeover``: groups of 3 large purchases on one card within an hour, from a new device and
  an IP country other than the card's.
* ``merchant_collusion``: round amounts (multiples of 50) at a small fixed set of colluding merchants
  (about 1% of merchant ids), half of them refunds.
* ``money_mule``: chains of 10 transfers: 6 cards send to one mule card (fan-in), which then sends
  the money on to 4 other cards 12 hours later (fan-out).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.rules.errors import SpecError
from simulacra.rules.expr import Cat
from simulacra.rules.generate import NULLS, permute
from simulacra.seeding import derive_rng

PACK = "payments"

# (code, description, group, merchant weight)
MCCS: list[tuple[int, str, str, float]] = [
    (5411, "Grocery Stores, Supermarkets", "grocery", 0.12),
    (5300, "Wholesale Clubs", "grocery", 0.02),
    (5812, "Eating Places, Restaurants", "dining", 0.10),
    (5814, "Fast Food Restaurants", "dining", 0.08),
    (5541, "Service Stations", "fuel", 0.05),
    (5542, "Automated Fuel Dispensers", "fuel", 0.04),
    (4111, "Local and Suburban Commuter Transportation", "transport", 0.03),
    (4121, "Taxicabs and Limousines", "transport", 0.03),
    (4511, "Airlines, Air Carriers", "travel", 0.02),
    (7011, "Hotels, Motels, Resorts", "travel", 0.02),
    (7512, "Car Rental Agencies", "travel", 0.01),
    (5311, "Department Stores", "retail", 0.04),
    (5651, "Family Clothing Stores", "retail", 0.04),
    (5691, "Men's and Women's Clothing Stores", "retail", 0.03),
    (5732, "Electronics Stores", "electronics", 0.03),
    (5200, "Home Supply Warehouse Stores", "retail", 0.02),
    (5942, "Book Stores", "retail", 0.01),
    (5945, "Hobby, Toy and Game Shops", "retail", 0.01),
    (5999, "Miscellaneous and Specialty Retail Stores", "retail", 0.04),
    (5964, "Direct Marketing - Catalog Merchants", "retail", 0.01),
    (5912, "Drug Stores and Pharmacies", "health", 0.04),
    (8011, "Doctors", "health", 0.01),
    (8062, "Hospitals", "health", 0.01),
    (4814, "Telecommunication Services", "bills", 0.02),
    (4899, "Cable, Satellite and Other Pay Television", "bills", 0.02),
    (4900, "Utilities - Electric, Gas, Water, Sanitary", "bills", 0.02),
    (5815, "Digital Goods - Media, Books, Movies, Music", "digital", 0.03),
    (5816, "Digital Goods - Games", "digital", 0.02),
    (5818, "Digital Goods - Large Digital Goods Merchant", "digital", 0.02),
    (7832, "Motion Picture Theaters", "leisure", 0.01),
    (7997, "Membership Clubs (Sports, Recreation, Athletic)", "leisure", 0.01),
    (6011, "Automated Cash Disbursements", "atm", 0.04),
    (4829, "Wire Transfers and Money Orders", "transfer", 0.02),
]
MCC_CODES = np.array([m[0] for m in MCCS], dtype=np.int64)
MCC_DESC = np.array([m[1] for m in MCCS], dtype=object)
_W = np.array([m[3] for m in MCCS])
MCC_CDF = np.cumsum(_W) / _W.sum()

# amount: lognormal(mu, sigma) per group; share of e-commerce (the rest is point of sale)
GROUPS: dict[str, tuple[float, float, float]] = {
    "grocery": (3.6, 0.7, 0.10),
    "dining": (3.0, 0.6, 0.15),
    "fuel": (3.8, 0.4, 0.0),
    "transport": (2.6, 0.6, 0.40),
    "travel": (5.8, 0.8, 0.75),
    "retail": (3.9, 0.9, 0.45),
    "electronics": (5.0, 1.0, 0.55),
    "health": (3.8, 1.0, 0.10),
    "bills": (4.2, 0.5, 0.85),
    "digital": (2.3, 0.8, 1.0),
    "leisure": (3.2, 0.6, 0.30),
    "atm": (4.6, 0.6, 0.0),
    "transfer": (5.0, 1.1, 1.0),
}
GROUP_NAMES = list(GROUPS)
_MCC_GROUP = np.array([GROUP_NAMES.index(m[2]) for m in MCCS])
_G_MU = np.array([GROUPS[g][0] for g in GROUP_NAMES])[_MCC_GROUP]
_G_SIGMA = np.array([GROUPS[g][1] for g in GROUP_NAMES])[_MCC_GROUP]
_G_ECOM = np.array([GROUPS[g][2] for g in GROUP_NAMES])[_MCC_GROUP]
_ATM = int(np.flatnonzero(MCC_CODES == 6011)[0])
_TRANSFER = int(np.flatnonzero(MCC_CODES == 4829)[0])
_DIGITAL = np.isin(MCC_CODES, [5815, 5816, 5818])
_HIGH_VALUE = np.isin(MCC_CODES, [5732, 4511, 7011, 5311, 5999])

COUNTRIES = np.array(["US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "AU", "JP"], dtype=object)
_CW = np.array([0.35, 0.15, 0.12, 0.1, 0.06, 0.06, 0.04, 0.05, 0.04, 0.03])
COUNTRY_CDF = np.cumsum(_CW) / _CW.sum()
CURRENCIES = np.array(["USD", "GBP", "EUR", "CAD", "AUD", "JPY"], dtype=object)
_COUNTRY_CURRENCY = np.array([0, 1, 2, 2, 2, 2, 2, 3, 4, 5])

CHANNELS = np.array(["pos", "ecom", "atm"], dtype=object)
TXN_TYPES = np.array(["purchase", "refund", "withdrawal", "transfer"], dtype=object)
FRAUD_TYPES = np.array(
    ["none", "card_testing", "account_takeover", "merchant_collusion", "money_mule"], dtype=object
)
FRAUD_SHARES = np.array([0.35, 0.25, 0.2, 0.2])  # of fraud rows, in FRAUD_TYPES[1:] order
CT_BURST, ATO_GROUP, MULE_GROUP, MULE_IN = 8, 3, 10, 6
COLLUDING_SHARE = 0.01  # of merchant ids
REFUND_SHARE = 0.015
SECOND_DEVICE_SHARE = 0.05
TRAVEL_SHARE = 0.03

TEST_BINS = np.array([411111, 424242, 555555, 222300], dtype=np.int64)  # well-known test BINs
NETWORKS = np.array(["visa", "mastercard"], dtype=object)
BIN_NETWORK = np.array([0, 0, 1, 1], dtype=np.int32)  # index into NETWORKS of each test BIN

_NAME_A = np.array(
    [
        "Blue",
        "Red",
        "Green",
        "Golden",
        "Silver",
        "North",
        "South",
        "East",
        "West",
        "Royal",
        "Urban",
        "Little",
        "Grand",
        "Happy",
        "Bright",
        "Old",
        "New",
        "River",
        "Harbor",
        "Maple",
        "Oak",
        "Pine",
        "Cedar",
        "Sunny",
        "Lucky",
        "Prime",
        "Metro",
        "City",
        "Corner",
        "Summit",
    ],
    dtype=object,
)
_NAME_B = np.array(
    [
        "Market",
        "Store",
        "Shop",
        "Traders",
        "Outlet",
        "Co",
        "Express",
        "Depot",
        "Hub",
        "Corner",
        "Place",
        "House",
        "Goods",
        "Emporium",
        "Mart",
    ],
    dtype=object,
)
MERCHANT_NAMES = np.array([f"{a} {b}" for a in _NAME_A for b in _NAME_B], dtype=object)

_NS = 1_000_000_000
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


# --------------------------------------------------------------------------------------------------
# Keyed hashes of entity ids


def _key(seed: int, what: str) -> np.uint64:
    return np.uint64(derive_rng(seed, PACK, "entity", what).integers(0, 2**63))


def _hash(ids: np.ndarray, key: np.uint64) -> np.ndarray:
    """splitmix64 of ``ids`` keyed by ``key`` (uint64, wrapping)."""
    z = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + key
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _unit(ids: np.ndarray, seed: int, what: str) -> np.ndarray:
    """A uniform [0, 1) value per id, fixed for the seed."""
    return (_hash(ids, _key(seed, what)) >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def _pick(u: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


def merchant_mcc_index(merchant_id: np.ndarray, seed: int) -> np.ndarray:
    """Index into :data:`MCCS` of each merchant."""
    return _pick(_unit(merchant_id, seed, "merchant_mcc"), MCC_CDF)


def merchant_country_index(merchant_id: np.ndarray, seed: int) -> np.ndarray:
    """Index into :data:`COUNTRIES` of each merchant."""
    return _pick(_unit(merchant_id, seed, "merchant_country"), COUNTRY_CDF)


def colluding(merchant_id: np.ndarray, seed: int) -> np.ndarray:
    """Whether each merchant belongs to the colluding set."""
    return _unit(merchant_id, seed, "colluding") < COLLUDING_SHARE


_COUNTRY_TABLE = _pick((np.arange(4096) + 0.5) / 4096, COUNTRY_CDF)  # top 12 hash bits -> country


def card_country_index(card_id: np.ndarray, seed: int) -> np.ndarray:
    """Index into :data:`COUNTRIES` of each card's issuing country."""
    return _COUNTRY_TABLE[(_hash(card_id, _key(seed, "card_country")) >> np.uint64(52)).astype(np.intp)]


def card_device(card_id: np.ndarray, seed: int, which: str = "device") -> np.ndarray:
    """A card's usual device number (``which="device2"``: its occasional second device)."""
    return (_hash(card_id, _key(seed, which)) % np.uint64(10**10)).astype(np.int64)


def _digits(values: np.ndarray, width: int, prefix: bytes = b"") -> np.ndarray:
    """Zero-padded decimal strings as a fixed-width bytes (``S``) array."""
    n = len(values)
    buf = np.empty((n, len(prefix) + width), dtype=np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    v = values.astype(np.int64)
    for j in range(width - 1, -1, -1):
        buf[:, len(prefix) + j] = 48 + (v % 10)
        v = v // 10
    return buf.view(f"S{len(prefix) + width}").ravel()


def device_label(device: np.ndarray) -> np.ndarray:
    """Device numbers as ids like ``DEV0123456789``."""
    return _digits(device, 10, b"DEV")


def luhn_check_digit(body: np.ndarray) -> np.ndarray:
    """The Luhn check digit of each row of ``body`` (an ``(n, m)`` array of digits, any int dtype)."""
    m = body.shape[1]
    total = np.zeros(len(body), dtype=np.int32)
    for j in range(m):  # column by column: no (n, m) temporaries
        d = body[:, j].astype(np.int32)
        if (m - 1 - j) % 2 == 0:  # the rightmost body digit is doubled (the check digit follows it)
            d *= 2
            d -= 9 * (d > 9)
        total += d
    return (10 - total % 10) % 10


def card_numbers(card_id: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """16-digit Luhn-valid PANs under well-known test BINs (unique per card), and the BIN index."""
    bin_idx = _pick(_unit(card_id, seed, "bin"), np.cumsum(np.full(len(TEST_BINS), 1 / len(TEST_BINS))))
    keys = derive_rng(seed, PACK, "entity", "pan").integers(0, 2**63, 6)
    account = permute(card_id.astype(np.int64) - 1, 10**9, keys)  # unique 9 digits per card
    digits = np.empty((len(card_id), 16), dtype=np.uint8)
    b, a = TEST_BINS[bin_idx], account
    for j in range(5, -1, -1):
        digits[:, j] = b % 10
        b = b // 10
    for j in range(14, 5, -1):
        digits[:, j] = a % 10
        a = a // 10
    digits[:, 15] = luhn_check_digit(digits[:, :15])
    digits += 48
    return digits.view("S16").ravel(), bin_idx


# --------------------------------------------------------------------------------------------------
# The hook


DEFAULT_FRAUD_RATE = 0.01


def postprocess(
    table: str, data: dict[str, Any], k: int, seed: int, parent: Any, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Fill the pack's computed columns of one chunk (called by the engine on every chunk)."""
    if table == "cards":
        return _cards(data, seed)
    if table == "merchants":
        return _merchants(data, seed)
    if table == "transactions":
        return _transactions(data, k, seed, (params or {}).get("fraud_rate", DEFAULT_FRAUD_RATE))
    return data


def _cards(data: dict[str, Any], seed: int) -> dict[str, Any]:
    cid = np.asarray(data["card_id"], dtype=np.int64)
    pan, bin_idx = card_numbers(cid, seed)
    data["card_number"] = pan
    data["network"] = Cat(BIN_NETWORK[bin_idx], NETWORKS)
    data["issuing_country"] = Cat(card_country_index(cid, seed).astype(np.int32), COUNTRIES)
    data["device_id"] = device_label(card_device(cid, seed))
    return data


def _merchants(data: dict[str, Any], seed: int) -> dict[str, Any]:
    mid = np.asarray(data["merchant_id"], dtype=np.int64)
    m = merchant_mcc_index(mid, seed)
    data["mcc"] = MCC_CODES[m]
    data["mcc_description"] = Cat(m.astype(np.int32), MCC_DESC)
    data["country"] = Cat(merchant_country_index(mid, seed).astype(np.int32), COUNTRIES)
    name = (_hash(mid, _key(seed, "merchant_name")) % np.uint64(len(MERCHANT_NAMES))).astype(np.int32)
    data["name"] = Cat(name, MERCHANT_NAMES)
    return data


def _groups(rows: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``rows`` into consecutive groups of ``size``: (group of each row, position, lead row)."""
    i = np.arange(len(rows))
    g, pos = i // size, i % size
    return g, pos, rows[g * size]


def _n_groups(g: np.ndarray) -> int:
    return int(g.max()) + 1 if len(g) else 0


def _transactions(data: dict[str, Any], k: int, seed: int, rate: Any) -> dict[str, Any]:
    n = len(np.asarray(data["is_fraud"]))
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise SpecError(f"payments: fraud_rate must be a number, got {rate!r}") from None
    if not 0.0 <= rate <= 0.5:
        raise SpecError(f"payments: fraud_rate must be between 0 and 0.5, got {rate}")

    def rng(purpose: str) -> np.random.Generator:
        return derive_rng(seed, PACK, "transactions", purpose, k)

    card = np.asarray(data["card_id"], dtype=np.int64)  # the engine's own arrays: changed in place
    merchant = np.asarray(data["merchant_id"], dtype=np.int64)
    ts = np.asarray(data["timestamp"], dtype="datetime64[ns]").view(np.int64)
    latest = int(ts.max()) if n else 0  # fraud groups start early enough to end by the chunk's latest time

    def start(lead: np.ndarray, span_s: int) -> np.ndarray:
        return np.minimum(ts[lead], latest - span_s * _NS)

    z = np.asarray(data["amount"], dtype=float)

    # every merchant id up to the largest seen (all are valid ids): attributes and candidate sets
    top = int(merchant.max()) if n else 0
    ids = np.arange(1, top + 1, dtype=np.int64)
    m_mcc = merchant_mcc_index(ids, seed)
    m_country = merchant_country_index(ids, seed)

    def candidates(mask: np.ndarray) -> np.ndarray:
        c = ids[mask]
        return c if len(c) else ids[:1]

    fraud = np.zeros(n, dtype=np.int32)  # code into FRAUD_TYPES
    r = rng("fraud_rows")
    n_fraud = int(r.binomial(n, rate)) if n else 0
    rows = r.choice(n, n_fraud, replace=False) if n_fraud else np.zeros(0, dtype=np.int64)
    counts = np.floor(FRAUD_SHARES * n_fraud).astype(int)
    counts[0] += n_fraud - counts.sum()
    ct_rows, ato_rows, col_rows, mule_rows = np.split(rows, np.cumsum(counts)[:-1])
    for code, part in enumerate((ct_rows, ato_rows, col_rows, mule_rows), start=1):
        fraud[part] = code

    # -- card testing: bursts on one card at one digital-goods merchant, seconds apart
    g, pos, lead = _groups(ct_rows, CT_BURST)
    rc = rng("card_testing")
    card[ct_rows] = card[lead]
    digital = candidates(_DIGITAL[m_mcc])
    merchant[ct_rows] = digital[rc.integers(0, len(digital), _n_groups(g))][g]
    ts[ct_rows] = start(lead, CT_BURST * 60) + (pos * rc.integers(5, 60, len(ct_rows))) * _NS
    ct_amount = np.round(rc.uniform(0.5, 2.0, len(ct_rows)), 2)
    ct_device = card_device(lead + k * 2**32, seed, "fraud_device")  # a fraudster device per burst

    # -- account takeover: a few large purchases within an hour, new device and IP country
    g, pos, lead = _groups(ato_rows, ATO_GROUP)
    ra = rng("account_takeover")
    card[ato_rows] = card[lead]
    high = candidates(_HIGH_VALUE[m_mcc])
    merchant[ato_rows] = high[ra.integers(0, len(high), len(ato_rows))]
    ts[ato_rows] = start(lead, ATO_GROUP * 1200) + (pos * ra.integers(120, 1200, len(ato_rows))) * _NS
    ato_amount = np.round(np.exp(ra.normal(7.0, 0.5, len(ato_rows))), 2)
    ato_device = card_device(lead + k * 2**32 + 2**31, seed, "fraud_device")
    shift = ra.integers(1, len(COUNTRIES), len(ato_rows))

    # -- merchant collusion: round amounts at colluding merchants, many refunds
    rm = rng("merchant_collusion")
    ring = candidates(colluding(ids, seed) & (m_mcc != _ATM) & (m_mcc != _TRANSFER))
    merchant[col_rows] = ring[rm.integers(0, len(ring), len(col_rows))]
    col_amount = rm.integers(4, 41, len(col_rows)) * 50.0
    col_refund = rm.random(len(col_rows)) < 0.5

    # -- money mule: fan-in to a mule card, fan-out from it 12 hours later
    g, pos, lead = _groups(mule_rows, MULE_GROUP)
    rmu = rng("money_mule")
    n_groups = _n_groups(g)
    mule = card[rmu.integers(0, max(n, 1), n_groups)] if n_groups else np.zeros(0, dtype=np.int64)
    fan_in = pos < MULE_IN
    others = card[mule_rows].copy()  # the senders (fan-in) or receivers (fan-out)
    card[mule_rows] = np.where(fan_in, others, mule[g])
    mule_counterparty = np.where(fan_in, mule[g], others)
    transfer = candidates(m_mcc == _TRANSFER)
    merchant[mule_rows] = transfer[rmu.integers(0, len(transfer), len(mule_rows))]
    gap = np.where(fan_in, pos * rmu.integers(600, 5400, len(mule_rows)), 12 * 3600 + (pos - MULE_IN) * 900)
    ts[mule_rows] = start(lead, 12 * 3600 + MULE_GROUP * 900) + gap * _NS
    mule_amount = np.round(rmu.uniform(300, 1500, len(mule_rows)), 2)
    sent = np.bincount(g[fan_in], weights=mule_amount[fan_in], minlength=n_groups)
    n_out = np.bincount(g[~fan_in], minlength=n_groups)
    share = np.round(0.95 * sent / np.maximum(n_out, 1), 2)
    mule_amount = np.where(fan_in, mule_amount, share[g])

    # -- every row: attributes of its (possibly rewritten) card and merchant
    mi = m_mcc[merchant - 1] if n else np.zeros(0, dtype=np.int64)
    amount = np.round(np.exp(_G_MU[mi] + _G_SIGMA[mi] * z), 2)
    atm = mi == _ATM
    amount[atm] = np.maximum(np.round(amount[atm] / 20) * 20, 20)
    # four independent 16-bit uniforms per row from one 64-bit draw (channel, refund, device, travel)
    ro = rng("row")
    bits = ro.integers(0, 2**63, n, dtype=np.int64, endpoint=False).view(np.uint64)

    def u16(i: int) -> np.ndarray:
        return ((bits >> np.uint64(16 * i)) & np.uint64(0xFFFF)).astype(np.float32) * np.float32(1 / 65536)

    channel = np.where(atm, 2, (u16(0) < _G_ECOM[mi]).astype(np.int32)).astype(np.int32)
    is_transfer = mi == _TRANSFER
    txn_type = np.where(atm, 2, np.where(is_transfer, 3, (u16(1) < REFUND_SHARE).astype(np.int32)))
    device = card_device(card, seed)
    second = np.flatnonzero(u16(2) < SECOND_DEVICE_SHARE)
    device[second] = card_device(card[second], seed, "device2")
    ip = card_country_index(card, seed)
    travel = np.flatnonzero(u16(3) < TRAVEL_SHARE)
    ip[travel] = (ip[travel] + ro.integers(1, len(COUNTRIES), len(travel))) % len(COUNTRIES)
    counterparty = np.zeros(n, dtype=np.int64)
    transfers = np.flatnonzero(is_transfer)
    counterparty[transfers] = card[ro.integers(0, max(n, 1), len(transfers))]

    # -- fraud overrides
    amount[ct_rows], channel[ct_rows], txn_type[ct_rows] = ct_amount, 1, 0
    device[ct_rows] = ct_device
    ip[ct_rows] = ro.integers(0, len(COUNTRIES), len(ct_rows))
    usual = card_device(card[ato_rows], seed)
    ato_device = np.where(ato_device == usual, ato_device + 1, ato_device)
    amount[ato_rows], channel[ato_rows], txn_type[ato_rows] = ato_amount, 1, 0
    device[ato_rows] = ato_device
    ip[ato_rows] = (card_country_index(card[ato_rows], seed) + shift) % len(COUNTRIES)
    amount[col_rows], channel[col_rows] = col_amount, 0
    txn_type[col_rows] = np.where(col_refund, 1, 0)
    amount[mule_rows], channel[mule_rows], txn_type[mule_rows] = mule_amount, 1, 3
    counterparty[mule_rows] = mule_counterparty
    has_counterparty = txn_type == 3

    data["card_id"] = card
    data["merchant_id"] = merchant
    data["mcc"] = MCC_CODES[mi]
    data["timestamp"] = ts.view("datetime64[ns]")
    data["amount"] = amount
    data["currency"] = Cat(_COUNTRY_CURRENCY[m_country[merchant - 1]].astype(np.int32), CURRENCIES)
    data["channel"] = Cat(channel, CHANNELS)
    data["txn_type"] = Cat(txn_type.astype(np.int32), TXN_TYPES)
    data["device_id"] = device_label(device)
    data["ip_country"] = Cat(ip.astype(np.int32), COUNTRIES)
    data["counterparty_card_id"] = counterparty
    data["is_fraud"] = fraud > 0
    data["fraud_type"] = Cat(fraud, FRAUD_TYPES)
    # null counterparty unless a transfer. The engine replaces NULLS after the hook when a column of
    # the spec has missing > 0; this pack's transactions have none.
    data.setdefault(NULLS, {})["counterparty_card_id"] = ~has_counterparty
    return data
