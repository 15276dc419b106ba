"""Tests for fresh fake personal data."""

from __future__ import annotations

import ipaddress
import re

import numpy as np
import pandas as pd
import pytest

from simulacra.schema.fakes import EMAIL_DOMAINS, fake_column, fake_people
from simulacra.schema.kinds import PiiKind
from simulacra.schema.pii import detect_pii, find_pii_in_text, luhn_valid
from simulacra.seeding import derive_rng

COLUMN_NAME = {
    PiiKind.PERSON_NAME: "customer_name",
    PiiKind.FIRST_NAME: "first_name",
    PiiKind.LAST_NAME: "last_name",
}


def _rng(seed: int = 0, *keys: str) -> np.random.Generator:
    return derive_rng(seed, "fakes-test", *keys)


@pytest.mark.parametrize("kind", list(PiiKind))
def test_round_trip_through_detector(kind: PiiKind) -> None:
    values = fake_column(kind, 500, _rng(1, kind.value))
    assert isinstance(values, np.ndarray)
    assert values.dtype == object
    assert values.shape == (500,)
    assert all(isinstance(v, str) and v for v in values)
    assert detect_pii(COLUMN_NAME.get(kind, "col"), pd.Series(values)) == kind


@pytest.mark.parametrize("kind", [PiiKind.STREET_ADDRESS, PiiKind.EMAIL, PiiKind.PHONE, PiiKind.CARD_NUMBER])
def test_value_kinds_detected_without_a_hint_in_the_name(kind: PiiKind) -> None:
    values = fake_column(kind, 2000, _rng(2, kind.value))
    assert detect_pii("column_a", pd.Series(values)) == kind


@pytest.mark.parametrize("kind", list(PiiKind))
def test_same_seed_same_output_different_seed_different_output(kind: PiiKind) -> None:
    a = fake_column(kind, 1000, _rng(5, "x"))
    b = fake_column(kind, 1000, _rng(5, "x"))
    c = fake_column(kind, 1000, _rng(6, "x"))
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()
    assert len(set(a.tolist())) > 50  # varied, not one value repeated


def test_fake_people_reproducible_and_mixed() -> None:
    p1 = fake_people(5000, _rng(3))
    p2 = fake_people(5000, _rng(3))
    assert set(p1) == {"first_name", "last_name"}
    assert p1["first_name"].tolist() == p2["first_name"].tolist()
    assert p1["last_name"].tolist() == p2["last_name"].tolist()
    from faker.providers.person.en_US import Provider

    firsts = pd.Series(p1["first_name"])
    male = firsts.isin(list(Provider.first_names_male)).mean()
    female = firsts.isin(list(Provider.first_names_female)).mean()
    assert 0.35 < male < 0.65 and 0.35 < female < 0.65  # both sexes drawn
    assert set(p1["last_name"]) <= set(Provider.last_names)
    # weighted: Smith is the most common en_US surname, far above a uniform 1/1000 share
    assert (pd.Series(p1["last_name"]) == "Smith").mean() > 0.008


def test_first_names_follow_faker_weights() -> None:
    from faker.providers.person.en_US import Provider

    male, female = Provider.first_names_male, Provider.first_names_female
    m_total, f_total = sum(male.values()), sum(female.values())
    expected = {
        name: 0.5 * male.get(name, 0.0) / m_total + 0.5 * female.get(name, 0.0) / f_total
        for name in set(male) | set(female)
    }
    top = sorted(expected, key=expected.get, reverse=True)[:5]
    firsts = pd.Series(fake_people(100_000, _rng(8))["first_name"])
    share = firsts.value_counts(normalize=True)
    for name in top:
        assert share.get(name, 0.0) == pytest.approx(expected[name], rel=0.2), name
    assert expected[top[0]] > 5 / len(expected)  # so a uniform draw could not pass


def test_names_agree_with_people() -> None:
    rng = _rng(4)
    people = fake_people(300, rng)
    full = fake_column(PiiKind.PERSON_NAME, 300, rng, people=people)
    first = fake_column(PiiKind.FIRST_NAME, 300, rng, people=people)
    last = fake_column(PiiKind.LAST_NAME, 300, rng, people=people)
    emails = fake_column(PiiKind.EMAIL, 300, rng, people=people)
    for f, la, fu, fi, ls, e in zip(
        people["first_name"], people["last_name"], full, first, last, emails, strict=True
    ):
        assert fu == f"{f} {la}"
        assert (fi, ls) == (f, la)
        local, domain = e.split("@")
        assert domain in EMAIL_DOMAINS
        slug_last = re.sub(r"[^a-z]", "", la.lower())
        slug_first = re.sub(r"[^a-z]", "", f.lower())
        assert slug_last in local
        assert local.startswith(slug_first) or local.startswith(slug_first[0] + slug_last)


def test_emails_are_ascii_lowercase_on_reserved_domains() -> None:
    people = {
        "first_name": np.array(["Zoë", "Seán", "José"], dtype=object),
        "last_name": np.array(["Ó Briain", "Müller", "O'Neil"], dtype=object),
    }
    emails = fake_column(PiiKind.EMAIL, 3, _rng(9), people=people)
    for e in emails:
        assert e.isascii() and e == e.lower()
        assert re.fullmatch(r"[a-z0-9._]+@example\.(com|org|net)", e)
    assert "obriain" in emails[0] and "muller" in emails[1] and "oneil" in emails[2]
    many = fake_column(PiiKind.EMAIL, 20_000, _rng(10))
    domains = {e.split("@")[1] for e in many}
    assert domains == set(EMAIL_DOMAINS)


def test_people_length_must_match() -> None:
    people = fake_people(10, _rng(0))
    with pytest.raises(ValueError):
        fake_column(PiiKind.EMAIL, 11, _rng(0), people=people)
    with pytest.raises(ValueError):
        fake_column(PiiKind.PHONE, -1, _rng(0))


@pytest.mark.parametrize("kind", list(PiiKind))
def test_zero_rows(kind: PiiKind) -> None:
    out = fake_column(kind, 0, _rng(0))
    assert out.shape == (0,) and out.dtype == object


def test_cards_luhn_valid_test_prefix() -> None:
    cards = fake_column(PiiKind.CARD_NUMBER, 20_000, _rng(11))
    assert all(re.fullmatch(r"400000\d{10}", c) for c in cards)
    assert all(luhn_valid(c) for c in cards)
    assert len(set(cards.tolist())) > 19_900


def test_phones_are_fictional_us_numbers() -> None:
    phones = fake_column(PiiKind.PHONE, 20_000, _rng(12))
    for p in phones:
        m = re.fullmatch(r"\(([2-9]\d\d)\) 555-01(\d\d)", p)
        assert m, p
    assert len({p[1:4] for p in phones}) > 700  # area codes spread over 200-999


def test_ssns_use_never_issued_area_numbers() -> None:
    ssns = fake_column(PiiKind.NATIONAL_ID, 20_000, _rng(13))
    for s in ssns:
        m = re.fullmatch(r"(9\d\d)-(\d\d)-(\d{4})", s)
        assert m, s
        assert m.group(2) != "00" and m.group(3) != "0000"


def test_ips_are_in_documentation_ranges() -> None:
    nets = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
    ips = fake_column(PiiKind.IP_ADDRESS, 5000, _rng(14))
    seen = set()
    for s in ips:
        ip = ipaddress.ip_address(s)
        net = next(n for n in nets if ip in n)
        seen.add(net)
        assert ip != net.network_address and ip != net.broadcast_address
    assert len(seen) == 3


def test_street_addresses_shape() -> None:
    from faker.providers.address.en_US import Provider

    suffixes = set(Provider.street_suffixes)
    addrs = fake_column(PiiKind.STREET_ADDRESS, 5000, _rng(15))
    for a in addrs:
        m = re.fullmatch(r"([1-9]\d{2,4}) ([A-Z][a-z]+) ([A-Z][a-z]+)( (?:Apt\.|Suite) \d{3})?", a)
        assert m, a
        assert m.group(3) in suffixes
    assert 0.05 < np.mean([" Apt. " in a or " Suite " in a for a in addrs]) < 0.3


def test_fake_text_is_found_by_leak_scanner() -> None:
    rng = _rng(16)
    texts = [
        f"contact {e} or {p}; card {c}; ssn {s}; host {i}"
        for e, p, c, s, i in zip(
            fake_column(PiiKind.EMAIL, 200, rng),
            fake_column(PiiKind.PHONE, 200, rng),
            fake_column(PiiKind.CARD_NUMBER, 200, rng),
            fake_column(PiiKind.NATIONAL_ID, 200, rng),
            fake_column(PiiKind.IP_ADDRESS, 200, rng),
            strict=True,
        )
    ]
    counts = find_pii_in_text(texts)
    assert counts == dict.fromkeys(
        (PiiKind.EMAIL, PiiKind.PHONE, PiiKind.CARD_NUMBER, PiiKind.NATIONAL_ID, PiiKind.IP_ADDRESS), 200
    )


# --------------------------------------------------------------------------------------------------
# Privacy: output never contains a value planted in (hypothetical) input data. Fakes are drawn from
# Faker's bundled lists and reserved ranges only, so a real person's data cannot come out.

CANARIES = {
    PiiKind.EMAIL: "zq.canary.8812@corp-internal.io",
    PiiKind.PHONE: "(415) 867-5309",
    PiiKind.PERSON_NAME: "Zyxwa Qlorptan",
    PiiKind.FIRST_NAME: "Zyxwa",
    PiiKind.LAST_NAME: "Qlorptan",
    PiiKind.STREET_ADDRESS: "8812 Canary Wharf Street",
    PiiKind.NATIONAL_ID: "078-05-1120",
    PiiKind.CARD_NUMBER: "4111111111111111",
    PiiKind.IP_ADDRESS: "8.8.8.8",
}


@pytest.mark.parametrize("kind", list(PiiKind))
def test_planted_input_value_never_output(kind: PiiKind) -> None:
    assert set(CANARIES) == set(PiiKind)
    canary = CANARIES[kind]
    # the canary is a valid value of its kind, so the test would catch a generator that copied input
    name = COLUMN_NAME.get(kind, "col")
    assert detect_pii(name, pd.Series([canary] * 10)) == kind
    out = fake_column(kind, 100_000, _rng(17, kind.value))
    assert canary not in set(out.tolist())
    assert not any(canary in v for v in out)  # not even inside a longer value
