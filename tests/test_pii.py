"""Tests for PII column detection and PII search in free text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.datasets import load_adult
from simulacra.schema.kinds import PiiKind
from simulacra.schema.pii import PII_PATTERNS, SAMPLE_SIZE, detect_pii, find_pii_in_text, luhn_valid

NAN = np.nan


def _col(values: list, repeat: int = 3) -> pd.Series:
    return pd.Series(values * repeat, dtype=object)


# --------------------------------------------------------------------------------------------------
# Real data: nothing in UCI Adult is personal data


@pytest.mark.parametrize("split", ["train", "test"])
def test_adult_has_no_pii(split: str) -> None:
    df = load_adult(split)
    found = {c: detect_pii(c, df[c]) for c in df.columns}
    assert len(found) == 15
    assert found == dict.fromkeys(df.columns)


def test_adult_categoricals_not_flagged_even_as_category_dtype() -> None:
    df = load_adult()
    for col in ("workclass", "education", "native-country", "occupation"):
        assert detect_pii(col, df[col].astype("category")) is None


# --------------------------------------------------------------------------------------------------
# Positives: realistic samples with NaN and a few malformed values (within the 10% tolerance)

EMAILS = [
    "jane.doe@example.com",
    "j.smith+news@mail.co.uk",
    "o'connor.p@uni-bonn.de",
    "ALICE_W@Example.ORG",
    "bob99@test.io",
    NAN,
    "carlos.garcia@empresa.com.mx",
    "li.wei@company.cn",
    "anna-maria@web.de",
    "mike@sub.domain.example.net",
    "support@shop.store",
    "x@y.info",
    "k.nguyen@corp.example",
    "fatima.z@mail.ae",
    "tom.h@outlook.com",
    "sara@gmail.com",
    "pat@school.edu",
    "dev_ops@host.dev",
    "ivan.petrov@yandex.ru",
    "noemi@posteo.de",
    "not an email",  # 1 malformed in 20 non-null
]

PHONES = [
    "+1 (555) 123-4567",
    "555-123-4567",
    "(555) 123 4567",
    "+44 20 7946 0958",
    "555.123.4567",
    NAN,
    "+1-202-555-0143",
    "(312) 555-0198",
    "212 555 0175",
    "+49 30 901820",
    "555-867-5309",
    "+33 1 23 45 67 89",
    "07700 900123",
    "(415) 555-2671 x204",
    "+61 2 9876 5432",
    "646.555.0101",
    "555-1234",
    "+1 800 555 0199",
    "(020) 7946 0018",
    "202-555-0110",
    "call me",  # 1 malformed
]

CARDS = [
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "340000000000009",
    "6011000000000004",
    "4012888888881881",
    NAN,
    "378282246310005",
    "5105105105105100",
    "4222222222222",
    "3530111333300000",
    "6011 1111 1111 1117",
    "5555 5555 5555 4444",
    "4000-0566-5566-5556",
    "2223003122003222",
    "4242424242424242",
    "30569309025904",
    "6200000000000005",
    "371449635398431",
    "4111111111111112",  # one Luhn-invalid
]

SSNS = [
    "123-45-6789",
    "078-05-1120",
    "219-09-9999",
    "457-55-5462",
    NAN,
    "536-22-1029",
    "001-01-0001",
    "665-12-4412",
    "772-34-8812",
    "234-56-7890",
    "345-67-8901",
    "456-78-9012",
    "567-89-0123",
    "678-90-1234",
    "789-01-2345",
    "890-12-3456",
    "901-23-4567",
    "112-23-3445",
    "223-34-4556",
    "123456789",  # malformed
]

IPS = [
    "192.168.1.10",
    "10.0.0.1",
    "8.8.8.8",
    "255.255.255.0",
    "172.16.254.3",
    NAN,
    "2001:db8::1",
    "fe80::1ff:fe23:4567:890a",
    "::1",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "127.0.0.1",
    "203.0.113.42",
    "::ffff:192.0.2.128",
    "100.64.0.1",
    "1.2.3.4",
    "198.51.100.7",
    "169.254.10.20",
    "2606:4700:4700::1111",
    "0.0.0.0",
    "localhost",  # malformed
]

NAMES = [
    "John Smith",
    "Mary-Jane O'Brien",
    "José Álvarez",
    "Ludwig van Beethoven",
    NAN,
    "Dr. Ada Lovelace",
    "Martin Luther King Jr.",
    "Li Wei",
    "Anne-Marie Dupont",
    "Smith, John",
    "J. R. R. Tolkien",
    "Zoë Kravitz",
    "Seán O'Neill",
    "Chloé Martin",
    "Hiroshi Tanaka",
    "Amara Okafor",
    "D'Angelo Russell",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "n/a",  # malformed
]

FIRST = [
    "James",
    "Mary",
    "Jean-Luc",
    "Zoë",
    NAN,
    "Seán",
    "D'Andre",
    "Anne Marie",
    "Mohammed",
    "Olga",
    "Priya",
    "Kwame",
    "Ingrid",
    "Mateo",
    "Yuki",
    "Aoife",
    "Liam",
    "Emma",
    "Noah",
    "Olivia",
    "123",
]

LAST = [
    "Smith",
    "O'Brien",
    "García",
    "van der Berg",
    "Nguyen",
    NAN,
    "Müller",
    "Smith-Jones",
    "Kowalski",
    "Okafor",
    "MacDonald",
    "Da Silva",
    "Rossi",
    "Johansson",
    "Kim",
    "Patel",
    "Ivanova",
    "Dubois",
    "Tanaka",
    "Hernández",
    "unknown",
]

ADDRESSES = [
    "123 Main St",
    "42 Elm Street Apt 5",
    "1600 Pennsylvania Avenue NW",
    "221B Baker Street",
    NAN,
    "350 Fifth Ave, New York, NY 10118",
    "9 W. 57th St.",
    "77 Massachusetts Ave",
    "1 Infinite Loop",
    "500 Oak Rd",
    "12 Sunset Blvd",
    "8 Cherry Tree Lane",
    "31 Spooner Ln",
    "4059 Mt Lee Dr",
    "10 Downing Street",
    "742 Evergreen Terrace",
    "2 Hilltop Way",
    "15 Kings Ct",
    "88 Market Pl",
    "1234 Maple Drive Suite 200",
    "PO Box",  # malformed
]


@pytest.mark.parametrize(
    ("name", "values", "kind"),
    [
        ("contact", EMAILS, PiiKind.EMAIL),
        ("col_7", PHONES, PiiKind.PHONE),
        ("payment", CARDS, PiiKind.CARD_NUMBER),
        ("ssn", SSNS, PiiKind.NATIONAL_ID),
        ("client_ip", IPS, PiiKind.IP_ADDRESS),
        ("name", NAMES, PiiKind.PERSON_NAME),
        ("full_name", NAMES, PiiKind.PERSON_NAME),
        ("customerName", NAMES, PiiKind.PERSON_NAME),
        ("first_name", FIRST, PiiKind.FIRST_NAME),
        ("FirstName", FIRST, PiiKind.FIRST_NAME),
        ("given-name", FIRST, PiiKind.FIRST_NAME),
        ("last_name", LAST, PiiKind.LAST_NAME),
        ("Surname", LAST, PiiKind.LAST_NAME),
        ("family name", LAST, PiiKind.LAST_NAME),
        ("location", ADDRESSES, PiiKind.STREET_ADDRESS),
    ],
)
def test_detects_each_kind(name: str, values: list, kind: PiiKind) -> None:
    assert detect_pii(name, _col(values)) == kind


def test_every_kind_has_a_positive_case() -> None:
    cases = {
        PiiKind.EMAIL: ("e", EMAILS),
        PiiKind.PHONE: ("p", PHONES),
        PiiKind.CARD_NUMBER: ("c", CARDS),
        PiiKind.NATIONAL_ID: ("s", SSNS),
        PiiKind.IP_ADDRESS: ("i", IPS),
        PiiKind.PERSON_NAME: ("name", NAMES),
        PiiKind.FIRST_NAME: ("firstname", FIRST),
        PiiKind.LAST_NAME: ("lastname", LAST),
        PiiKind.STREET_ADDRESS: ("a", ADDRESSES),
    }
    assert set(cases) == set(PiiKind)
    for kind, (name, values) in cases.items():
        assert detect_pii(name, _col(values)) == kind, kind


def test_address_by_column_name_with_looser_shape() -> None:
    values = ["Flat 3, 14 Rue de Rivoli", "Hauptstraße 5, Berlin", "Calle Mayor 12", NAN, "Via Roma 1"] * 5
    assert detect_pii("location", pd.Series(values)) is None
    assert detect_pii("home_address", pd.Series(values)) == PiiKind.STREET_ADDRESS
    assert detect_pii("Street", pd.Series(values)) == PiiKind.STREET_ADDRESS
    assert detect_pii("mailingAddress", pd.Series(values)) == PiiKind.STREET_ADDRESS
    assert detect_pii("macaddress", pd.Series(values)) is None


def test_card_number_int64_column() -> None:
    cards = [4111111111111111, 5500000000000004, 6011000000000004, 4012888888881881, 5105105105105100]
    s = pd.Series(cards * 10, dtype="int64")
    assert detect_pii("cc", s) == PiiKind.CARD_NUMBER
    assert detect_pii("cc", pd.Series(cards * 10 + [None], dtype="Int64")) == PiiKind.CARD_NUMBER


def test_categorical_dtype_is_inspected() -> None:
    assert detect_pii("x", pd.Series(EMAILS * 3).astype("category")) == PiiKind.EMAIL


# --------------------------------------------------------------------------------------------------
# Thresholds and sampling


def test_ninety_percent_threshold() -> None:
    good = [f"user{i}@example.com" for i in range(100)]
    bad = [f"user {i}" for i in range(100)]
    assert detect_pii("x", pd.Series(good[:92] + bad[:8])) == PiiKind.EMAIL
    assert detect_pii("x", pd.Series(good[:85] + bad[:15])) is None


def test_cards_need_ninety_percent_luhn_valid() -> None:
    valid = ["4111111111111111", "5500000000000004", "6011000000000004", "4012888888881881"]
    invalid = ["4111111111111112", "5500000000000005", "6011000000000001", "4012888888881882"]
    mostly_invalid = pd.Series(valid * 5 + invalid * 5)  # 50% valid: card-shaped but not cards
    assert detect_pii("cc", mostly_invalid) is None
    assert detect_pii("cc", pd.Series(valid * 23 + invalid[:2])) == PiiKind.CARD_NUMBER


def test_sample_is_first_2000_non_null_values() -> None:
    emails = [f"person{i}@example.org" for i in range(SAMPLE_SIZE)]
    junk = ["???"] * (3 * SAMPLE_SIZE)
    s = pd.Series([None] * 500 + emails + junk, dtype=object)
    assert detect_pii("x", s) == PiiKind.EMAIL
    assert detect_pii("x", pd.Series(junk + emails, dtype=object)) is None


def test_nan_only_and_empty_columns() -> None:
    assert detect_pii("email", pd.Series([NAN] * 10, dtype=object)) is None
    assert detect_pii("email", pd.Series([], dtype=object)) is None
    assert detect_pii("cc", pd.Series([], dtype="int64")) is None
    assert detect_pii("name", pd.Series(["", "  ", NAN], dtype=object)) is None


# --------------------------------------------------------------------------------------------------
# Negatives


def test_dates_are_not_phones() -> None:
    iso = pd.Series(pd.date_range("2021-01-05", periods=200, freq="D").strftime("%Y-%m-%d"))
    dotted = pd.Series(pd.date_range("2021-01-05", periods=200, freq="D").strftime("%d.%m.%Y"))
    dashed = pd.Series(pd.date_range("2021-01-05", periods=200, freq="D").strftime("%m-%d-%Y"))
    stamps = pd.Series(pd.date_range("2021-01-05", periods=200, freq="h").strftime("%Y-%m-%d %H:%M:%S"))
    seasons = pd.Series([f"{y}-{y + 1}" for y in range(1900, 2020)])
    for s in (iso, dotted, dashed, stamps, seasons):
        assert detect_pii("contact_date", s) is None, s.iloc[0]
    assert not PII_PATTERNS[PiiKind.PHONE].fullmatch("2021-01-05")


def test_plain_integers_are_not_phones_or_cards() -> None:
    ids = pd.Series(np.arange(1, 5001), dtype="int64")
    assert detect_pii("id", ids) is None
    assert detect_pii("phone", ids.astype(str)) is None
    big = pd.Series(np.arange(10**15, 10**15 + 5000), dtype="int64")  # 16 digits, ~10% Luhn-valid
    assert detect_pii("card", big) is None
    assert detect_pii("card", big.astype(str)) is None
    ten_digits = pd.Series(np.arange(5551230000, 5551235000).astype(str))
    assert detect_pii("phone", ten_digits) is None


def test_luhn_invalid_16_digit_numbers_are_not_cards() -> None:
    rng = np.random.default_rng(7)
    numbers = ["".join(map(str, rng.integers(0, 10, 16))) for _ in range(3000)]
    invalid = [n for n in numbers if not luhn_valid(n)]
    assert len(invalid) > 2000
    assert detect_pii("card_number", pd.Series(invalid)) is None
    spaced = [" ".join(n[i : i + 4] for i in range(0, 16, 4)) for n in invalid]
    assert detect_pii("card_number", pd.Series(spaced)) is None


def test_numeric_columns_never_flagged() -> None:
    rng = np.random.default_rng(0)
    cols = {
        "age": pd.Series(rng.integers(17, 90, 3000)),
        "amount": pd.Series(rng.gamma(2.0, 50.0, 3000).round(2)),
        "id": pd.Series(np.arange(1, 3001)),
        "phone": pd.Series(rng.integers(2_000_000_000, 9_999_999_999, 3000)),
        "ssn": pd.Series(rng.integers(100_000_000, 999_999_999, 3000)),
        "name": pd.Series(rng.normal(size=3000)),
        "flag": pd.Series(rng.random(3000) < 0.5),
        "when": pd.Series(pd.date_range("2020-01-01", periods=3000, freq="h")),
    }
    for name, s in cols.items():
        assert detect_pii(name, s) is None, name


def test_names_need_a_name_like_column() -> None:
    cities = _col(["New York", "San Francisco", "Los Angeles", "Chicago", "Boston", "Saint Louis"])
    assert detect_pii("city", cities) is None
    assert detect_pii("product_name", _col(["Apple Juice", "Green Tea", "Oat Milk"])) is None
    assert detect_pii("company_name", _col(["Acme Corp", "Globex", "Initech"])) is None
    workclass = _col(["Private", "State-gov", "Self-emp-not-inc", "Federal-gov", "Local-gov"])
    assert detect_pii("workclass", workclass) is None


def test_name_column_with_non_name_values() -> None:
    assert detect_pii("name", _col(["item-001", "item-002", "widget 3", "x1"])) is None
    assert detect_pii("first_name", _col(["alice", "bob", "carol"])) is None  # not capitalised
    assert detect_pii("username", _col(["jdoe", "asmith", "k.lee"])) is None


def test_address_named_columns_that_are_not_streets() -> None:
    macs = _col(["00:1A:2B:3C:4D:5E", "AA:BB:CC:DD:EE:FF", "01:23:45:67:89:ab"])
    assert detect_pii("mac_address", macs) is None
    wallets = _col(
        ["0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D"]
    )
    assert detect_pii("wallet_address", wallets) is None
    assert detect_pii("email_address", _col(EMAILS)) == PiiKind.EMAIL


def test_malformed_ips_are_not_ips() -> None:
    assert detect_pii("ip", _col(["256.1.1.1", "1.2.3.999", "300.300.300.300", "10.0.0"])) is None
    assert detect_pii("version", _col(["1.2.3", "2.10.0", "0.9.1"])) is None
    assert not PII_PATTERNS[PiiKind.IP_ADDRESS].fullmatch("12:30:45")


def test_free_text_is_not_an_address() -> None:
    text = _col(["The quick brown fox", "Meeting at 10 tomorrow", "I have 3 cats", "See you soon"])
    assert detect_pii("comment", text) is None


# --------------------------------------------------------------------------------------------------
# Luhn and free-text search


def test_luhn() -> None:
    assert luhn_valid("4111 1111 1111 1111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("")


def test_find_pii_in_text_counts_each_kind() -> None:
    texts = [
        "Please write to jane.doe@example.com today",
        "Call +1 (555) 123-4567 or 555-987-6543",
        "card 4111 1111 1111 1111 expires 12/27",
        "card 4111 1111 1111 1112 is a typo",  # not Luhn-valid
        "my SSN is 123-45-6789",
        "server at 10.0.0.1.",
        "IPv6 fe80::1 is link-local",
        "born 2021-01-05 in season 2021-2022",  # dates are not phones
        "zip 12345-6789, version 1.2.3.4.5",  # neither phone nor IP
        None,
        "",
        "no personal data here",
        "two emails a@b.co and c@d.org count once",
    ]
    counts = find_pii_in_text(texts)
    assert counts == {
        PiiKind.EMAIL: 2,
        PiiKind.PHONE: 1,
        PiiKind.CARD_NUMBER: 1,
        PiiKind.NATIONAL_ID: 1,
        PiiKind.IP_ADDRESS: 2,
    }


def test_find_pii_in_text_on_clean_text_is_zero() -> None:
    df = load_adult()
    rows = df["workclass"].astype(str) + " " + df["age"].astype(str) + " " + df["fnlwgt"].astype(str)
    rows = rows.head(5000)
    counts = find_pii_in_text(rows)
    assert set(counts) == {
        PiiKind.EMAIL,
        PiiKind.PHONE,
        PiiKind.CARD_NUMBER,
        PiiKind.NATIONAL_ID,
        PiiKind.IP_ADDRESS,
    }
    assert sum(counts.values()) == 0
