"""Hooks of the ``ehr`` pack: clinical codes and cross-table logic the YAML cannot express.

Every date stays inside the patient's life: after the birth date and no later than the death date
(or the as-of date :data:`AS_OF` for the living). Randomness comes only from
``derive_rng(seed, "ehr", table, purpose, k)``, so output is identical however rows are chunked.

Hidden values (keys starting with ``_``) ride along in a chunk's dict for the child tables' hooks;
they are not spec columns, so they are never written:

* patients: ``_birth``, ``_end`` (death or as-of, ns), and ``_dx`` (onset in ns of each condition
  per patient, ``NO_DX`` when absent), which the conditions hook records on the patient chunk;
* conditions: ``_end`` per row; encounters: ``_age`` (years) and ``_flags`` (diabetes, hypertension,
  obesity active at the encounter's start) per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.rules.expr import Cat
from simulacra.seeding import derive_rng

AS_OF = np.datetime64("2025-06-30T23:59:59", "ns")
"""The data's as-of date: nothing happens after it."""

NO_DX = np.iinfo(np.int64).max
_DAY = 86_400 * 10**9
_YEAR = int(365.25 * _DAY)

# code, display, chronic, min age (years), relative weight by age band (<18, 18-44, 45-64, 65+)
CONDITIONS: list[tuple[str, str, bool, int, tuple[float, float, float, float]]] = [
    ("E11.9", "Type 2 diabetes mellitus without complications", True, 20, (0, 0.35, 1.4, 1.9)),
    ("I10", "Essential (primary) hypertension", True, 20, (0, 0.6, 2.0, 3.0)),
    ("E78.5", "Hyperlipidemia, unspecified", True, 20, (0, 0.4, 1.5, 2.0)),
    ("J45.909", "Unspecified asthma, uncomplicated", True, 2, (0.8, 0.6, 0.5, 0.4)),
    ("E66.9", "Obesity, unspecified", True, 2, (0.4, 0.8, 1.0, 0.7)),
    ("F32.9", "Major depressive disorder, single episode, unspecified", True, 12, (0.1, 0.7, 0.6, 0.4)),
    ("F41.1", "Generalized anxiety disorder", True, 10, (0.15, 0.7, 0.5, 0.3)),
    (
        "I25.10",
        "Atherosclerotic heart disease of native coronary artery without angina pectoris",
        True,
        35,
        (0, 0.05, 0.4, 1.0),
    ),
    ("J44.9", "Chronic obstructive pulmonary disease, unspecified", True, 40, (0, 0, 0.3, 0.7)),
    ("N18.9", "Chronic kidney disease, unspecified", True, 40, (0, 0, 0.2, 0.6)),
    ("M17.9", "Osteoarthritis of knee, unspecified", True, 40, (0, 0.05, 0.5, 1.0)),
    ("E03.9", "Hypothyroidism, unspecified", True, 10, (0.05, 0.3, 0.5, 0.6)),
    ("K21.9", "Gastro-esophageal reflux disease without esophagitis", True, 10, (0.1, 0.5, 0.7, 0.7)),
    ("I48.91", "Unspecified atrial fibrillation", True, 50, (0, 0, 0.1, 0.5)),
    ("F90.9", "Attention-deficit hyperactivity disorder, unspecified type", True, 5, (0.5, 0.2, 0.05, 0.02)),
    (
        "G43.909",
        "Migraine, unspecified, not intractable, without status migrainosus",
        True,
        10,
        (0.2, 0.5, 0.3, 0.1),
    ),
    ("J06.9", "Acute upper respiratory infection, unspecified", False, 0, (1.5, 1.0, 0.8, 0.6)),
    ("J02.9", "Acute pharyngitis, unspecified", False, 0, (0.8, 0.5, 0.3, 0.2)),
    ("H66.90", "Otitis media, unspecified, unspecified ear", False, 0, (1.0, 0.1, 0.05, 0.05)),
    ("N39.0", "Urinary tract infection, site not specified", False, 0, (0.2, 0.5, 0.5, 0.7)),
    ("J20.9", "Acute bronchitis, unspecified", False, 0, (0.4, 0.4, 0.4, 0.5)),
    ("M54.50", "Low back pain, unspecified", False, 15, (0.05, 0.8, 0.9, 0.7)),
    ("K52.9", "Noninfective gastroenteritis and colitis, unspecified", False, 0, (0.5, 0.3, 0.3, 0.3)),
    ("R51.9", "Headache, unspecified", False, 0, (0.3, 0.4, 0.3, 0.2)),
    (
        "S93.401A",
        "Sprain of unspecified ligament of right ankle, initial encounter",
        False,
        5,
        (0.3, 0.3, 0.15, 0.1),
    ),
    ("L20.9", "Atopic dermatitis, unspecified", False, 0, (0.6, 0.2, 0.1, 0.1)),
]
"""ICD-10-CM codes (a common subset)."""

ROUTINE = [
    ("Z00.00", "Encounter for general adult medical examination without abnormal findings"),
    ("Z00.129", "Encounter for routine child health examination without abnormal findings"),
]
"""Encounter reasons for a patient without an active chronic condition (adult, child)."""

# RxNorm clinical drug (SCD) codes
MEDICATIONS: list[tuple[str, str]] = [
    ("861007", "metformin hydrochloride 500 MG Oral Tablet"),  # 0
    ("314076", "lisinopril 10 MG Oral Tablet"),  # 1
    ("197361", "amlodipine 5 MG Oral Tablet"),  # 2
    ("617310", "atorvastatin 20 MG Oral Tablet"),  # 3
    ("745679", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler"),  # 4
    ("312940", "sertraline 50 MG Oral Tablet"),  # 5
    ("349332", "escitalopram 10 MG Oral Tablet"),  # 6
    ("243670", "aspirin 81 MG Oral Tablet"),  # 7
    ("309362", "clopidogrel 75 MG Oral Tablet"),  # 8
    ("966222", "levothyroxine sodium 0.05 MG Oral Tablet"),  # 9
    ("198053", "omeprazole 20 MG Delayed Release Oral Capsule"),  # 10
    ("1364445", "apixaban 5 MG Oral Tablet"),  # 11
    ("1091170", "methylphenidate hydrochloride 10 MG Oral Tablet"),  # 12
    ("313172", "sumatriptan 50 MG Oral Tablet"),  # 13
    ("308191", "amoxicillin 500 MG Oral Capsule"),  # 14
    ("198440", "acetaminophen 500 MG Oral Tablet"),  # 15
    ("197805", "ibuprofen 400 MG Oral Tablet"),  # 16
    ("311995", "nitrofurantoin 100 MG Oral Capsule"),  # 17
    ("106258", "hydrocortisone 10 MG/ML Topical Cream"),  # 18
    ("312086", "ondansetron 4 MG Oral Tablet"),  # 19
    ("1649574", "orlistat 120 MG Oral Capsule"),  # 20
    ("896188", "tiotropium 0.018 MG Inhalation Powder"),  # 21
]
"""RxNorm-style clinical drug codes with display names."""

TREATS: dict[str, list[int]] = {
    "E11.9": [0],
    "I10": [1, 2],
    "E78.5": [3],
    "J45.909": [4],
    "E66.9": [20],
    "F32.9": [5, 6],
    "F41.1": [6, 5],
    "I25.10": [7, 8, 3],
    "J44.9": [21, 4],
    "N18.9": [1],
    "M17.9": [16, 15],
    "E03.9": [9],
    "K21.9": [10],
    "I48.91": [11],
    "F90.9": [12],
    "G43.909": [13, 16],
    "J06.9": [15],
    "J02.9": [14],
    "H66.90": [14],
    "N39.0": [17],
    "J20.9": [15],
    "M54.50": [16],
    "K52.9": [19],
    "R51.9": [15, 16],
    "S93.401A": [16],
    "L20.9": [18],
}
"""Medications (indexes into MEDICATIONS) prescribed for each condition; the first is the usual one."""

# LOINC code, display, UCUM unit: the panel an encounter records, in this order (4 to 6 of them)
OBSERVATIONS: list[tuple[str, str, str]] = [
    ("8867-4", "Heart rate", "/min"),
    ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"),
    ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    ("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL"),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%"),
]
"""LOINC vitals and labs."""

CLASS_HOURS = {"ambulatory": (0.25, 1.0), "emergency": (2.0, 10.0), "inpatient": (24.0, 24.0 * 8)}
"""Encounter length range (hours) by class."""

_COND_CODES = np.array([c[0] for c in CONDITIONS], dtype=object)
_COND_DISPLAY = np.array([c[1] for c in CONDITIONS], dtype=object)
_CHRONIC = np.array([c[2] for c in CONDITIONS])
_MIN_AGE = np.array([c[3] for c in CONDITIONS], dtype=float)
_BAND_W = np.array([c[4] for c in CONDITIONS], dtype=float).T  # (band, condition)
_IDX = {c[0]: i for i, c in enumerate(CONDITIONS)}
_FLAG_CODES = ("E11.9", "I10", "E66.9")
_REASON_CODES = np.concatenate([_COND_CODES, np.array([r[0] for r in ROUTINE], dtype=object)])
_REASON_DISPLAY = np.concatenate([_COND_DISPLAY, np.array([r[1] for r in ROUTINE], dtype=object)])
_TREATS = np.full((len(CONDITIONS), max(len(v) for v in TREATS.values())), -1, dtype=np.int64)
for _code, _meds in TREATS.items():
    _TREATS[_IDX[_code], : len(_meds)] = _meds
_N_TREATS = (_TREATS >= 0).sum(axis=1)
_UNITS = np.array(sorted({o[2] for o in OBSERVATIONS}), dtype=object)  # category labels must be unique
_UNIT_OF = np.array([list(_UNITS).index(o[2]) for o in OBSERVATIONS], dtype=np.int32)


def _rng(seed: int, table: str, purpose: str, k: int) -> np.random.Generator:
    return derive_rng(seed, "ehr", table, purpose, k)


def _ns(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype("datetime64[ns]").astype(np.int64)


def _dt(ns: np.ndarray) -> np.ndarray:
    return np.asarray(ns, dtype=np.int64).astype("datetime64[ns]")


def _labels(values: np.ndarray) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=object)


def _position(group: np.ndarray) -> np.ndarray:
    """Index of each row within its run of equal ``group`` values (rows of one parent are adjacent)."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.r_[True, group[1:] != group[:-1]]
    starts = np.flatnonzero(first)
    return np.arange(n) - starts[np.cumsum(first) - 1]


def _parent_index(child_ids: np.ndarray, parent_ids: np.ndarray) -> np.ndarray:
    """Row of each child's parent in the parent chunk (parent ids are an ascending sequence)."""
    return np.searchsorted(np.asarray(parent_ids), np.asarray(child_ids))


def _uniform_ns(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One time uniformly in ``[lo, hi]`` per row (ns)."""
    span = np.maximum(hi - lo, 0).astype(float)
    return lo + np.floor(rng.random(len(lo)) * span).astype(np.int64)


def _cat_values(value: Any) -> np.ndarray:
    return value.values() if isinstance(value, Cat) else np.asarray(value)


# --------------------------------------------------------------------------------------------------


def postprocess(
    table: str, data: dict[str, Any], k: int, seed: int, parent: dict[str, Any] | None, params: Any = None
) -> dict:
    """Fill the pack's derived columns of one chunk (see the module docstring)."""
    fill = {
        "patients": _patients,
        "conditions": _conditions,
        "medications": _medications,
        "encounters": _encounters,
        "observations": _observations,
    }.get(table)
    return data if fill is None else fill(data, k, seed, parent)


def _patients(data: dict, k: int, seed: int, parent: Any) -> dict:
    n = len(data["patient_id"])
    birth = _ns(data["birth_date"]) // _DAY * _DAY  # a date: midnight
    age = (_ns(AS_OF) - birth) / _YEAR
    rng = _rng(seed, "patients", "deceased", k)
    dead = rng.random(n) < 0.004 + 0.00055 * age
    lo = np.maximum(birth + _DAY, _ns(AS_OF) - 10 * _YEAR)
    death = _uniform_ns(rng, lo, np.full(n, _ns(AS_OF)))
    death = death // _DAY * _DAY  # a date
    death = np.maximum(death, birth + _DAY)
    data["birth_date"] = _dt(birth)
    data["deceased_date"] = np.where(dead, _dt(death), np.datetime64("NaT", "ns"))
    data["_birth"] = birth
    data["_end"] = np.where(dead, death, _ns(AS_OF))
    data["_dx"] = None  # filled by the conditions hook
    return data


def _age_band(age: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array([18.0, 45.0, 65.0]), age, side="right")


def _conditions(data: dict, k: int, seed: int, parent: dict) -> dict:
    n_p = len(parent["patient_id"])
    n = len(data["patient_id"])
    pidx = _parent_index(data["patient_id"], parent["patient_id"])
    birth, end = parent["_birth"], parent["_end"]
    age_end = (end - birth) / _YEAR
    # age-dependent weights; a patient too young for a condition cannot have it
    w = _BAND_W[_age_band(age_end)] * (age_end[:, None] >= _MIN_AGE[None, :])  # (patients, conditions)
    rng = _rng(seed, "conditions", "code", k)
    with np.errstate(divide="ignore"):
        keys = np.log(w) + rng.gumbel(size=w.shape)  # Gumbel top-k: weighted draws without replacement
    order = np.argsort(-keys, axis=1, kind="stable")
    n_ok = (w > 0).sum(axis=1)
    pos = _position(pidx)
    code = np.empty(n, dtype=np.int64)
    inside = pos < n_ok[pidx]
    code[inside] = order[pidx[inside], pos[inside]]
    # more diagnoses than eligible codes: repeat episodes of acute ones (always eligible at any age)
    extra = np.flatnonzero(~inside)
    if len(extra):
        acute_ok = (~_CHRONIC[None, :]) & (w[pidx[extra]] > 0)
        pick = np.argmax(acute_ok * rng.random(acute_ok.shape), axis=1)
        code[extra] = pick
    lo = birth[pidx] + (_MIN_AGE[code] * _YEAR).astype(np.int64)
    hi = end[pidx]
    onset = _uniform_ns(rng, np.minimum(lo, hi), hi)
    chronic = _CHRONIC[code]
    abate = np.minimum(onset + (7 + rng.integers(0, 21, n)) * _DAY, hi)
    data["code"] = Cat(code.astype(np.int32), _labels(_COND_CODES))
    data["display"] = Cat(code.astype(np.int32), _labels(_COND_DISPLAY))
    data["category"] = Cat((~chronic).astype(np.int32), _labels(np.array(["chronic", "acute"])))
    resolved = ~chronic & (abate < _ns(AS_OF))
    data["clinical_status"] = Cat(resolved.astype(np.int32), _labels(np.array(["active", "resolved"])))
    data["onset_date"] = _dt(onset)
    data["abatement_date"] = np.where(resolved, _dt(abate), np.datetime64("NaT", "ns"))
    data["_end"] = hi
    # record the patient's chronic diagnoses (earliest onset) for encounters and observations
    dx = np.full((n_p, len(CONDITIONS)), NO_DX, dtype=np.int64)
    sel = np.flatnonzero(chronic)
    np.minimum.at(dx, (pidx[sel], code[sel]), onset[sel])
    parent["_dx"] = dx
    return data


def _medications(data: dict, k: int, seed: int, parent: dict) -> dict:
    n = len(data["condition_id"])
    cidx = _parent_index(data["condition_id"], parent["condition_id"])
    cond = parent["code"].codes[cidx].astype(np.int64)
    rng = _rng(seed, "medications", "drug", k)
    # mostly the usual drug, sometimes an alternative
    alt = (rng.random(n) < 0.3) * rng.integers(0, 1 << 30, n)
    med = _TREATS[cond, alt % _N_TREATS[cond]]
    onset = _ns(parent["onset_date"])[cidx]
    end = parent["_end"][cidx]
    authored = _ns(data["authored_on"])
    late = authored > end
    authored[late] = _uniform_ns(rng, onset[late], end[late])
    chronic = _CHRONIC[cond]
    acute_done = ~chronic & (authored + 30 * _DAY < _ns(AS_OF))
    died = end < _ns(AS_OF)
    status = np.where(died, 2, np.where(acute_done, 1, 0))
    data["rxnorm"] = Cat(med.astype(np.int32), _labels(np.array([m[0] for m in MEDICATIONS])))
    data["display"] = Cat(med.astype(np.int32), _labels(np.array([m[1] for m in MEDICATIONS])))
    data["status"] = Cat(status.astype(np.int32), _labels(np.array(["active", "completed", "stopped"])))
    data["authored_on"] = _dt(authored)
    return data


def _encounters(data: dict, k: int, seed: int, parent: dict) -> dict:
    dx = parent.get("_dx")
    if dx is None:
        raise RuntimeError(
            "ehr pack: encounters need the patients' diagnoses; keep the conditions table before "
            "encounters in ehr.yaml and generate them together"
        )
    n = len(data["patient_id"])
    pidx = _parent_index(data["patient_id"], parent["patient_id"])
    birth, end = parent["_birth"][pidx], parent["_end"][pidx]
    rng = _rng(seed, "encounters", "time", k)
    # a care history of up to 10 years before death or the as-of date, never before birth
    lo = np.maximum(birth, end - 10 * _YEAR)
    start = _uniform_ns(rng, lo, end)
    # chronological within each patient (rows of one patient are adjacent)
    order = np.lexsort((start, pidx))
    start = start[order]
    cls = _cat_values(data["class"])
    hours = np.zeros(n)
    u = rng.random(n)
    for name, (h_lo, h_hi) in CLASS_HOURS.items():
        hit = cls == name
        hours[hit] = h_lo + (h_hi - h_lo) * u[hit]
    stop = np.minimum(start + (hours * 3600 * 1e9).astype(np.int64), end)
    # reason: one of the patient's chronic conditions active at the start, else a routine visit
    active = dx[pidx] <= start[:, None]
    score = np.where(active, rng.random(active.shape, dtype=np.float32), -1.0)
    best = np.argmax(score, axis=1) if n else np.zeros(0, dtype=np.int64)
    has = active.any(axis=1)
    age = (start - birth) / _YEAR
    routine = len(CONDITIONS) + (age < 18).astype(np.int64)
    # emergencies and admissions without a chronic cause: an acute problem possible at that age
    acute_ok = (~_CHRONIC)[None, :] & (age[:, None] >= _MIN_AGE[None, :])
    acute = np.argmax(acute_ok * rng.random(acute_ok.shape, dtype=np.float32), axis=1) if n else routine
    urgent = np.isin(cls, ["emergency", "inpatient"])
    reason = np.where(has, best, np.where(urgent, acute, routine)).astype(np.int32)
    data["start"] = _dt(start)
    data["end"] = _dt(stop)
    data["reason_code"] = Cat(reason, _labels(_REASON_CODES))
    data["reason_display"] = Cat(reason, _labels(_REASON_DISPLAY))
    data["_age"] = age
    data["_flags"] = np.stack([active[:, _IDX[c]] for c in _FLAG_CODES], axis=1).reshape(n, len(_FLAG_CODES))
    return data


def _observations(data: dict, k: int, seed: int, parent: dict) -> dict:
    n = len(data["encounter_id"])
    eidx = _parent_index(data["encounter_id"], parent["encounter_id"])
    kind = _position(eidx) % len(OBSERVATIONS)
    flags = parent["_flags"][eidx]
    diabetes, hypertension, obesity = flags[:, 0], flags[:, 1], flags[:, 2]
    age = parent["_age"][eidx]
    child = np.clip(18 - age, 0, 18)  # years below adulthood
    rng = _rng(seed, "observations", "value", k)
    z = rng.standard_normal(n)
    value = np.zeros(n)

    def put(i: int, mean: np.ndarray | float, sd: np.ndarray | float, lo: float, hi: float, nd: int) -> None:
        hit = kind == i
        mu = np.broadcast_to(mean, (n,))[hit]
        s = np.broadcast_to(sd, (n,))[hit]
        value[hit] = np.round(np.clip(mu + s * z[hit], lo, hi), nd)

    put(0, 74 + 3.5 * child + 4 * diabetes, 10, 40, 190, 0)  # heart rate
    sbp = np.where(age < 18, 95 + 1.2 * age, 116 + 0.35 * np.maximum(age - 30, 0)) + 22 * hypertension
    put(1, sbp, np.where(hypertension, 14, 10), 70, 230, 0)
    bmi = np.where(age < 18, 15.5 + 0.25 * age, 26.5) + 8 * obesity + 2.5 * diabetes
    put(2, bmi, np.where(age < 18, 2.5, 4.0), 11, 70, 1)
    put(3, sbp * 0.62 + 4 * hypertension, 8, 40, 140, 0)  # diastolic
    put(4, np.where(diabetes, 155, 94), np.where(diabetes, 40, 10), 55, 450, 0)  # glucose
    put(5, np.where(diabetes, 7.5, 5.3), np.where(diabetes, 1.1, 0.3), 4.0, 14.0, 1)  # HbA1c
    eff = _ns(data["effective"])
    data["effective"] = _dt(np.minimum(eff, _ns(parent["end"])[eidx]))
    data["loinc"] = Cat(kind.astype(np.int32), _labels(np.array([o[0] for o in OBSERVATIONS])))
    data["display"] = Cat(kind.astype(np.int32), _labels(np.array([o[1] for o in OBSERVATIONS])))
    data["unit"] = Cat(_UNIT_OF[kind], _labels(_UNITS))
    data["value"] = value
    return data
