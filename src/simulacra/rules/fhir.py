"""FHIR R4 export of the ``ehr`` pack's tables, as ndjson (one file per resource type).

:func:`write_fhir` turns ``patients``, ``encounters``, ``conditions``, ``medications`` and
``observations`` into ``Patient.ndjson``, ``Encounter.ndjson``, ``Condition.ndjson``,
``MedicationRequest.ndjson`` and ``Observation.ndjson``. Columns are converted column-wise (dates
to FHIR strings, codes to codings) and only the final dict assembly is per row. References are
``Patient/<patient_id>``, ``Encounter/<encounter_id>`` and ``Condition/<condition_id>``; codings use
ICD-10-CM, LOINC and RxNorm, and quantities UCUM. No FHIR library is needed to write; the tests
validate every resource with ``fhir.resources`` (its R4B models: R4B is 4.3, backward compatible
with R4 for these resources).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CDC_RACE = "urn:oid:2.16.840.1.113883.6.238"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
MRN_SYSTEM = "urn:simulacra:ehr:mrn"

CLASS_CODES = {"ambulatory": "AMB", "emergency": "EMER", "inpatient": "IMP"}
RACE_CODES = {
    "White": "2106-3",
    "Black or African American": "2054-5",
    "Asian": "2028-9",
    "American Indian or Alaska Native": "1002-5",
    "Native Hawaiian or Other Pacific Islander": "2076-8",
}
ETHNICITY_CODES = {"Hispanic or Latino": "2135-2", "Not Hispanic or Latino": "2186-5"}
LAB_LOINC = {"4548-4", "2339-0"}
"""LOINC codes of laboratory results (the rest of the pack's observations are vital signs)."""

RESOURCES = {
    "patients": "Patient",
    "encounters": "Encounter",
    "conditions": "Condition",
    "medications": "MedicationRequest",
    "observations": "Observation",
}
"""Table of the ehr pack → FHIR resource type (and ndjson file name)."""


# --------------------------------------------------------------------------------------------------
# Column helpers (vectorised)


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    return df[name].to_numpy()


def _str(df: pd.DataFrame, name: str) -> list[str | None]:
    s = df[name]
    out = s.astype(object).where(s.notna(), None)
    return [None if v is None else str(v) for v in out.tolist()]


def _ids(df: pd.DataFrame, name: str) -> list[str]:
    return pd.Series(df[name]).astype("int64").astype(str).tolist()


def _times(df: pd.DataFrame, name: str, unit: str = "s") -> list[str | None]:
    """FHIR dateTime strings (UTC, ``Z``) at ``unit`` precision, or date strings for ``unit='D'``."""
    values = pd.to_datetime(df[name]).to_numpy(dtype="datetime64[ns]")
    na = np.isnat(values)
    text = np.datetime_as_string(values.astype(f"datetime64[{unit}]"), unit=unit).astype(object)
    if unit != "D":
        text = text + "Z"
    text[na] = None
    return text.tolist()


def _ref(kind: str, ids: list[str]) -> list[dict[str, str]]:
    return [{"reference": f"{kind}/{i}"} for i in ids]


def _concepts(system: str, codes: list, displays: list) -> list[dict]:
    """CodeableConcepts, one per distinct code (shared dicts: they are only serialised)."""
    cache: dict[tuple, dict] = {}
    out = []
    for code, display in zip(codes, displays, strict=True):
        key = (code, display)
        cc = cache.get(key)
        if cc is None:
            cc = {"coding": [{"system": system, "code": str(code), "display": str(display)}], "text": display}
            cache[key] = cc
        out.append(cc)
    return out


# --------------------------------------------------------------------------------------------------
# Resources


def _omb(url: str, codes: Mapping[str, str], text: str | None) -> dict | None:
    if text is None:
        return None
    parts: list[dict[str, Any]] = []
    if text in codes:
        coding = {"system": CDC_RACE, "code": codes[text], "display": text}
        parts.append({"url": "ombCategory", "valueCoding": coding})
    parts.append({"url": "text", "valueString": text})
    return {"url": url, "extension": parts}


def patients_to_fhir(df: pd.DataFrame) -> Iterator[dict]:
    """Patient resources from the ``patients`` table."""
    ids = _ids(df, "patient_id")
    birth = _times(df, "birth_date", "D")
    death = _times(df, "deceased_date", "D")
    cols = [_str(df, c) for c in ("mrn", "first_name", "last_name", "sex", "race", "ethnicity", "state")]
    for pid, b, d, mrn, first, last, sex, race, eth, state in zip(ids, birth, death, *cols, strict=True):
        res: dict[str, Any] = {"resourceType": "Patient", "id": pid}
        ext = [
            e
            for e in (
                _omb(f"{US_CORE}/us-core-race", RACE_CODES, race),
                _omb(f"{US_CORE}/us-core-ethnicity", ETHNICITY_CODES, eth),
            )
            if e is not None
        ]
        if ext:
            res["extension"] = ext
        if mrn is not None:
            res["identifier"] = [{"system": MRN_SYSTEM, "value": mrn}]
        name: dict[str, Any] = {"use": "official"}
        if last is not None:
            name["family"] = last
        if first is not None:
            name["given"] = [first]
        res["name"] = [name]
        if sex is not None:
            res["gender"] = sex if sex in ("male", "female", "other") else "unknown"
        if b is not None:
            res["birthDate"] = b
        res["deceasedDateTime" if d is not None else "deceasedBoolean"] = d if d is not None else False
        if state is not None and len(state) == 2:
            res["address"] = [{"state": state, "country": "US"}]
        yield res


def encounters_to_fhir(df: pd.DataFrame) -> Iterator[dict]:
    """Encounter resources from the ``encounters`` table."""
    ids, pids = _ids(df, "encounter_id"), _ids(df, "patient_id")
    start, end = _times(df, "start"), _times(df, "end")
    reasons = _concepts(ICD10, _str(df, "reason_code"), _str(df, "reason_display"))
    classes = {
        name: {"system": ACT_CODE, "code": code, "display": name} for name, code in CLASS_CODES.items()
    }
    for eid, subject, cls, s, e, reason in zip(
        ids, _ref("Patient", pids), _str(df, "class"), start, end, reasons, strict=True
    ):
        yield {
            "resourceType": "Encounter",
            "id": eid,
            "status": "finished",
            "class": classes[cls],
            "subject": subject,
            "period": {"start": s, "end": e},
            "reasonCode": [reason],
        }


_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_COND_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


def conditions_to_fhir(df: pd.DataFrame) -> Iterator[dict]:
    """Condition resources from the ``conditions`` table."""
    ids, pids = _ids(df, "condition_id"), _ids(df, "patient_id")
    codes = _concepts(ICD10, _str(df, "code"), _str(df, "display"))
    onset, abate = _times(df, "onset_date"), _times(df, "abatement_date")
    status = {s: {"coding": [{"system": _CLINICAL, "code": s}]} for s in ("active", "resolved", "inactive")}
    verified = {"coding": [{"system": _VERIFICATION, "code": "confirmed"}]}
    category = [{"coding": [{"system": _COND_CATEGORY, "code": "problem-list-item"}]}]
    for cid, subject, code, st, on, ab in zip(
        ids, _ref("Patient", pids), codes, _str(df, "clinical_status"), onset, abate, strict=True
    ):
        res = {
            "resourceType": "Condition",
            "id": cid,
            "clinicalStatus": status[st],
            "verificationStatus": verified,
            "category": category,
            "code": code,
            "subject": subject,
            "onsetDateTime": on,
        }
        if ab is not None:
            res["abatementDateTime"] = ab
        yield res


def medications_to_fhir(df: pd.DataFrame) -> Iterator[dict]:
    """MedicationRequest resources from the ``medications`` table."""
    ids, pids, cids = _ids(df, "medication_id"), _ids(df, "patient_id"), _ids(df, "condition_id")
    meds = _concepts(RXNORM, _str(df, "rxnorm"), _str(df, "display"))
    for mid, subject, reason, med, st, authored in zip(
        ids,
        _ref("Patient", pids),
        _ref("Condition", cids),
        meds,
        _str(df, "status"),
        _times(df, "authored_on"),
        strict=True,
    ):
        yield {
            "resourceType": "MedicationRequest",
            "id": mid,
            "status": st,
            "intent": "order",
            "medicationCodeableConcept": med,
            "subject": subject,
            "authoredOn": authored,
            "reasonReference": [reason],
        }


_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def observations_to_fhir(df: pd.DataFrame) -> Iterator[dict]:
    """Observation resources from the ``observations`` table."""
    ids, pids, eids = _ids(df, "observation_id"), _ids(df, "patient_id"), _ids(df, "encounter_id")
    loinc = _str(df, "loinc")
    codes = _concepts(LOINC, loinc, _str(df, "display"))
    values = pd.to_numeric(df["value"]).astype(float).tolist()
    categories = {
        c: [{"coding": [{"system": _OBS_CATEGORY, "code": c}]}] for c in ("vital-signs", "laboratory")
    }
    for oid, subject, enc, code, lc, value, unit, eff in zip(
        ids,
        _ref("Patient", pids),
        _ref("Encounter", eids),
        codes,
        loinc,
        values,
        _str(df, "unit"),
        _times(df, "effective"),
        strict=True,
    ):
        yield {
            "resourceType": "Observation",
            "id": oid,
            "status": "final",
            "category": categories["laboratory" if lc in LAB_LOINC else "vital-signs"],
            "code": code,
            "subject": subject,
            "encounter": enc,
            "effectiveDateTime": eff,
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        }


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fragments(values: list, make: Callable[[Any], Any]) -> list[str]:
    """JSON text of ``make(v)`` for each value, encoded once per distinct value."""
    cache: dict[Any, str] = {}
    out = []
    for v in values:
        text = cache.get(v)
        if text is None:
            text = cache[v] = _dumps(make(v))
        out.append(text)
    return out


def observations_ndjson(df: pd.DataFrame) -> list[str]:
    """The ndjson lines of :func:`observations_to_fhir`, built as text (the bulk of an export).

    Same JSON values as ``json.dumps`` of the dicts (the tests check it), about 3x faster.
    """
    ids, pids, eids = _ids(df, "observation_id"), _ids(df, "patient_id"), _ids(df, "encounter_id")
    loinc, display, unit = _str(df, "loinc"), _str(df, "display"), _str(df, "unit")
    head = _fragments(
        list(zip(loinc, display, strict=True)),
        lambda c: {
            "category": [
                {
                    "coding": [
                        {
                            "system": _OBS_CATEGORY,
                            "code": "laboratory" if c[0] in LAB_LOINC else "vital-signs",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": LOINC, "code": c[0], "display": c[1]}], "text": c[1]},
        },
    )
    units = _fragments(unit, lambda u: {"unit": u, "system": UCUM, "code": u})
    values = [repr(v) for v in pd.to_numeric(df["value"]).astype(float).tolist()]
    eff = _fragments(_times(df, "effective"), lambda t: t)
    return [
        f'{{"resourceType":"Observation","id":"{i}","status":"final",{h[1:-1]},'
        f'"subject":{{"reference":"Patient/{p}"}},"encounter":{{"reference":"Encounter/{e}"}},'
        f'"effectiveDateTime":{t},"valueQuantity":{{"value":{v},{u[1:]}}}'
        for i, p, e, h, t, v, u in zip(ids, pids, eids, head, eff, values, units, strict=True)
    ]


FAST_NDJSON: dict[str, Callable[[pd.DataFrame], list[str]]] = {"observations": observations_ndjson}
"""Tables whose ndjson lines are built as text rather than through dicts."""


CONVERTERS: dict[str, Callable[[pd.DataFrame], Iterator[dict]]] = {
    "patients": patients_to_fhir,
    "encounters": encounters_to_fhir,
    "conditions": conditions_to_fhir,
    "medications": medications_to_fhir,
    "observations": observations_to_fhir,
}
"""Table → converter to FHIR resource dicts."""


def to_fhir(table: str, df: Any) -> Iterator[dict]:
    """FHIR resource dicts of one ehr table (a DataFrame or a pyarrow Table, whole or a chunk)."""
    if table not in CONVERTERS:
        raise ValueError(f"no FHIR mapping for table '{table}' (tables: {', '.join(CONVERTERS)})")
    if not isinstance(df, pd.DataFrame):
        df = df.to_pandas()
    return CONVERTERS[table](df)


# --------------------------------------------------------------------------------------------------
# Writing


class FhirWriter:
    """Streams chunks of the ehr tables into ``<Resource>.ndjson`` files under ``folder``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.handles: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    @property
    def files(self) -> list[str]:
        """Names of the files written (all five resource types, once closed)."""
        return [f"{r}.ndjson" for r in RESOURCES.values()]

    def write(self, table: str, df: Any) -> int:
        """Append the resources of one chunk of ``table``; return how many were written.

        Tables without a FHIR mapping are skipped (0).
        """
        if table not in CONVERTERS:
            return 0
        resource = RESOURCES[table]
        fh = self.handles.get(resource)
        if fh is None:
            fh = open(self.folder / f"{resource}.ndjson", "w", encoding="utf-8")  # noqa: SIM115
            self.handles[resource] = fh
        if not isinstance(df, pd.DataFrame):
            df = df.to_pandas()
        if table in FAST_NDJSON:
            lines = FAST_NDJSON[table](df)
        else:
            dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
            lines = [dumps(res) for res in to_fhir(table, df)]
        if lines:
            fh.write("\n".join(lines))
            fh.write("\n")
        self.counts[resource] = self.counts.get(resource, 0) + len(lines)
        return len(lines)

    def close(self) -> dict[str, int]:
        """Close the files (a resource type with no rows still gets an empty file); return counts."""
        for resource in RESOURCES.values():
            if resource not in self.handles:
                (self.folder / f"{resource}.ndjson").write_text("", encoding="utf-8")
                self.counts.setdefault(resource, 0)
        for fh in self.handles.values():
            fh.close()
        self.handles.clear()
        return dict(self.counts)

    def __enter__(self) -> FhirWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_fhir(out_dir: Path | str, tables: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, int]:
    """Write the ehr tables as FHIR R4 ndjson files in ``out_dir``; return ``{resource: count}``.

    ``tables`` is ``{table: DataFrame or pyarrow.Table}`` (e.g. from ``generate("ehr", ...)``) or an
    iterable of ``(table, chunk)`` pairs, so chunks can be streamed without holding whole tables.
    """
    items = tables.items() if isinstance(tables, Mapping) else tables
    with FhirWriter(Path(out_dir)) as writer:
        for table, df in items:
            writer.write(table, df)
    return dict(writer.counts)


__all__ = ["CONVERTERS", "RESOURCES", "FhirWriter", "to_fhir", "write_fhir"]
