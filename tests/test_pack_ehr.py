"""The ``ehr`` domain pack: tables, timelines within life, condition-dependent labs, FHIR R4 export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulacra.rules import generate, run_rules
from simulacra.rules.fhir import (
    ICD10,
    LOINC,
    RESOURCES,
    RXNORM,
    UCUM,
    observations_ndjson,
    to_fhir,
    write_fhir,
)
from simulacra.rules.packs import ehr

N = 400
UCUM_UNITS = {"8867-4": "/min", "8480-6": "mm[Hg]", "8462-4": "mm[Hg]", "39156-5": "kg/m2",
              "2339-0": "mg/dL", "4548-4": "%"}  # fmt: skip
"""The LOINC codes the pack must use, with their UCUM units (written out, not read from the pack)."""
SEED = 5
CHUNK = 150  # several chunks, so the hooks' chunk-exactness is exercised


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate("ehr", n=N, seed=SEED, chunk_rows=CHUNK)


def _with_patient(df: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    life = patients[["patient_id", "birth_date", "deceased_date"]]
    merged = df.merge(life, on="patient_id", how="left", validate="many_to_one")
    assert merged["birth_date"].notna().all(), "a row references a patient that does not exist"
    return merged


def _end_of_life(df: pd.DataFrame) -> pd.Series:
    return df["deceased_date"].fillna(pd.Timestamp(ehr.AS_OF))


# --------------------------------------------------------------------------------------------------
# Tables


def test_pack_generates_every_table_with_keys(tables: dict[str, pd.DataFrame]) -> None:
    assert set(tables) == {"patients", "conditions", "medications", "encounters", "observations"}
    p = tables["patients"]
    assert len(p) == N and p["patient_id"].is_unique
    for name in ("conditions", "medications", "encounters", "observations"):
        assert len(tables[name]) > N / 2, name
        assert set(tables[name]["patient_id"]) <= set(p["patient_id"]), name
    assert set(tables["medications"]["condition_id"]) <= set(tables["conditions"]["condition_id"])
    assert set(tables["observations"]["encounter_id"]) <= set(tables["encounters"]["encounter_id"])
    # a child's patient_id agrees with its parent's
    m = tables["medications"].merge(tables["conditions"], on="condition_id", suffixes=("", "_c"))
    assert (m["patient_id"] == m["patient_id_c"]).all()
    o = tables["observations"].merge(tables["encounters"], on="encounter_id", suffixes=("", "_e"))
    assert (o["patient_id"] == o["patient_id_e"]).all()
    assert p["first_name"].notna().all() and p["last_name"].notna().all()
    assert set(p["sex"]) == {"female", "male"}


def test_output_is_deterministic_per_seed() -> None:
    a = generate("ehr", n=300, seed=9, chunk_rows=100)
    b = generate("ehr", n=300, seed=9, chunk_rows=100)
    c = generate("ehr", n=300, seed=10, chunk_rows=100)
    for t in a:
        pd.testing.assert_frame_equal(a[t], b[t])
    assert not a["patients"]["birth_date"].equals(c["patients"]["birth_date"])


def test_some_but_few_patients_are_deceased_never_before_birth(tables: dict[str, pd.DataFrame]) -> None:
    big = generate("ehr", n=6000, seed=SEED)["patients"]
    share = big["deceased_date"].notna().mean()
    assert 0.02 <= share <= 0.05, share
    for p in (tables["patients"], big):
        dead = p.dropna(subset=["deceased_date"])
        assert (dead["deceased_date"] > dead["birth_date"]).all()
        assert (dead["deceased_date"] <= pd.Timestamp(ehr.AS_OF)).all()
        assert (p["birth_date"] == p["birth_date"].dt.normalize()).all()  # dates, no time of day


def test_encounters_are_within_life(tables: dict[str, pd.DataFrame]) -> None:
    e = _with_patient(tables["encounters"], tables["patients"])
    assert (e["start"] >= e["birth_date"]).all()
    assert (e["start"] <= e["end"]).all()
    assert (e["end"] <= _end_of_life(e)).all()
    assert set(e["class"]) == {"ambulatory", "emergency", "inpatient"}
    routine = e["reason_code"].astype(str).isin([r[0] for r in ehr.ROUTINE])
    assert routine.any() and not (routine & (e["class"] != "ambulatory")).any()
    inpatient = e[e["class"] == "inpatient"]
    assert ((inpatient["end"] - inpatient["start"]) > pd.Timedelta(hours=12)).mean() > 0.9


def test_conditions_and_medications_are_within_life(tables: dict[str, pd.DataFrame]) -> None:
    c = _with_patient(tables["conditions"], tables["patients"])
    assert (c["onset_date"] >= c["birth_date"]).all()
    assert (c["onset_date"] <= _end_of_life(c)).all()
    ab = c.dropna(subset=["abatement_date"])
    assert len(ab) and (ab["abatement_date"] >= ab["onset_date"]).all()
    assert (ab["abatement_date"] <= _end_of_life(ab)).all()
    assert set(c.loc[c["abatement_date"].notna(), "clinical_status"]) == {"resolved"}
    m = tables["medications"].merge(
        tables["conditions"][["condition_id", "onset_date"]], on="condition_id", validate="many_to_one"
    )
    m = _with_patient(m, tables["patients"])
    assert (m["authored_on"] >= m["onset_date"]).all()
    assert (m["authored_on"] <= _end_of_life(m)).all()


def test_observations_are_within_their_encounter(tables: dict[str, pd.DataFrame]) -> None:
    o = tables["observations"].merge(
        tables["encounters"][["encounter_id", "start", "end"]], on="encounter_id", validate="many_to_one"
    )
    assert (o["effective"] >= o["start"]).all() and (o["effective"] <= o["end"]).all()
    o = _with_patient(o, tables["patients"])
    assert (o["effective"] >= o["birth_date"]).all() and (o["effective"] <= _end_of_life(o)).all()


def test_nothing_happens_after_death_even_for_many_deceased() -> None:
    t = generate("ehr", n=3000, seed=21, chunk_rows=1000)
    dead = t["patients"].dropna(subset=["deceased_date"])[["patient_id", "deceased_date"]]
    assert len(dead) > 30
    for name, col in (("encounters", "end"), ("conditions", "onset_date"), ("medications", "authored_on")):
        d = t[name].merge(dead, on="patient_id")
        assert len(d), name
        assert (d[col] <= d["deceased_date"]).all(), name


# --------------------------------------------------------------------------------------------------
# Codes and clinical logic


def test_codes_come_from_the_lists(tables: dict[str, pd.DataFrame]) -> None:
    icd = dict((c[0], c[1]) for c in ehr.CONDITIONS)
    c = tables["conditions"]
    assert set(c["code"].astype(str)) <= set(icd)
    assert len(set(c["code"].astype(str))) >= 20
    assert (c["display"].astype(str) == c["code"].astype(str).map(icd)).all()
    rx = dict(ehr.MEDICATIONS)
    m = tables["medications"]
    assert (m["display"].astype(str) == m["rxnorm"].astype(str).map(rx)).all()
    # every prescription treats its condition
    mc = m.merge(tables["conditions"][["condition_id", "code"]], on="condition_id")
    allowed = {(code, ehr.MEDICATIONS[i][0]) for code, meds in ehr.TREATS.items() for i in meds}
    pairs = set(zip(mc["code"].astype(str), mc["rxnorm"].astype(str), strict=True))
    assert pairs <= allowed
    # the usual drugs, written out: metformin for diabetes, lisinopril or amlodipine for hypertension
    drugs = mc.groupby(mc["code"].astype(str))["rxnorm"].agg(lambda x: set(x.astype(str)))
    assert drugs["E11.9"] == {"861007"}
    assert drugs["I10"] <= {"314076", "197361"} and "314076" in drugs["I10"]
    o = tables["observations"]
    assert set(o["loinc"].astype(str)) == set(UCUM_UNITS)
    assert (o["unit"].astype(str) == o["loinc"].astype(str).map(UCUM_UNITS)).all()
    reasons = set(icd) | {r[0] for r in ehr.ROUTINE}
    assert set(tables["encounters"]["reason_code"].astype(str)) <= reasons


def test_conditions_respect_age_and_are_not_duplicated_when_chronic(tables: dict[str, pd.DataFrame]) -> None:
    c = _with_patient(tables["conditions"], tables["patients"])
    min_age = {x[0]: x[3] for x in ehr.CONDITIONS}
    age_at_onset = (c["onset_date"] - c["birth_date"]).dt.days / 365.25
    assert (age_at_onset >= c["code"].astype(str).map(min_age) - 1e-6).all()
    chronic = c[c["category"] == "chronic"]
    assert not chronic.duplicated(["patient_id", "code"]).any()


def test_prevalence_of_diabetes_and_hypertension_rises_with_age() -> None:
    t = generate("ehr", n=4000, seed=2)
    p = t["patients"]
    age = (pd.Timestamp(ehr.AS_OF) - p["birth_date"]).dt.days / 365.25
    for code in ("E11.9", "I10"):
        has = p["patient_id"].isin(t["conditions"].loc[t["conditions"]["code"] == code, "patient_id"])
        young, old = has[age < 40].mean(), has[age >= 65].mean()
        assert old > 2 * young, (code, young, old)


def _obs_with_flags(t: dict[str, pd.DataFrame], code: str, loinc: str) -> pd.DataFrame:
    """Observations of ``loinc``, flagged when the patient had ``code`` with onset before them."""
    o = t["observations"][t["observations"]["loinc"] == loinc]
    c = t["conditions"][t["conditions"]["code"] == code][["patient_id", "onset_date"]]
    o = o.merge(c, on="patient_id", how="left")
    return o.assign(has=o["onset_date"].notna() & (o["onset_date"] <= o["effective"]))


def test_hba1c_and_glucose_are_higher_with_diabetes() -> None:
    t = generate("ehr", n=2000, seed=SEED)
    a1c = _obs_with_flags(t, "E11.9", "4548-4")
    with_dm, without = a1c.loc[a1c["has"], "value"], a1c.loc[~a1c["has"], "value"]
    assert len(with_dm) > 30 and len(without) > 30
    assert 4.8 < without.mean() < 5.8, without.mean()
    assert 6.8 < with_dm.mean() < 8.2, with_dm.mean()
    glucose = _obs_with_flags(t, "E11.9", "2339-0")
    assert glucose.loc[glucose["has"], "value"].mean() > glucose.loc[~glucose["has"], "value"].mean() + 30
    sbp = _obs_with_flags(t, "I10", "8480-6")
    assert sbp.loc[sbp["has"], "value"].mean() > sbp.loc[~sbp["has"], "value"].mean() + 10


def test_observation_values_are_plausible(tables: dict[str, pd.DataFrame]) -> None:
    o = tables["observations"]
    ranges = {"8867-4": (40, 190), "8480-6": (70, 230), "8462-4": (40, 140), "39156-5": (11, 70),
              "2339-0": (55, 450), "4548-4": (4, 14)}  # fmt: skip
    for code, (lo, hi) in ranges.items():
        v = o.loc[o["loinc"] == code, "value"]
        assert len(v) and v.between(lo, hi).all(), code


# --------------------------------------------------------------------------------------------------
# FHIR


@pytest.fixture(scope="module")
def fhir_dir(tables: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fhir")
    counts = write_fhir(out, tables)
    assert counts == {RESOURCES[t]: len(df) for t, df in tables.items()}
    return out


def _lines(folder: Path, resource: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"{resource}.ndjson").read_text().splitlines()]


def test_every_fhir_resource_validates(fhir_dir: Path) -> None:
    import fhir.resources.R4B as r4b

    for resource in RESOURCES.values():
        model = r4b.get_fhir_model_class(resource)
        text = (fhir_dir / f"{resource}.ndjson").read_text().splitlines()
        assert text, resource
        for line in text:
            parsed = model.model_validate_json(line)
            assert parsed.get_resource_type() == resource


def test_the_validator_rejects_a_broken_resource(fhir_dir: Path) -> None:
    import fhir.resources.R4B as r4b

    obs = _lines(fhir_dir, "Observation")[0]
    obs["effectiveDateTime"] = obs["effectiveDateTime"].rstrip("Z")  # a time without a zone
    with pytest.raises(ValueError):
        r4b.get_fhir_model_class("Observation").model_validate(obs)


def test_fhir_counts_ids_and_references(tables: dict[str, pd.DataFrame], fhir_dir: Path) -> None:
    res = {r: _lines(fhir_dir, r) for r in RESOURCES.values()}
    for table, resource in RESOURCES.items():
        assert len(res[resource]) == len(tables[table]), resource
        ids = [x["id"] for x in res[resource]]
        assert len(set(ids)) == len(ids)
    patients = {f"Patient/{x['id']}" for x in res["Patient"]}
    encounters = {f"Encounter/{x['id']}" for x in res["Encounter"]}
    conditions = {f"Condition/{x['id']}" for x in res["Condition"]}
    for resource in ("Encounter", "Condition", "MedicationRequest", "Observation"):
        assert {x["subject"]["reference"] for x in res[resource]} <= patients, resource
    assert {x["encounter"]["reference"] for x in res["Observation"]} <= encounters
    assert {x["reasonReference"][0]["reference"] for x in res["MedicationRequest"]} <= conditions
    assert (
        sum(1 for x in res["Patient"] if "deceasedDateTime" in x)
        == tables["patients"]["deceased_date"].notna().sum()
    )


def test_fhir_codings_and_units(tables: dict[str, pd.DataFrame], fhir_dir: Path) -> None:
    for x in _lines(fhir_dir, "Condition"):
        assert x["code"]["coding"][0]["system"] == ICD10
    for x in _lines(fhir_dir, "MedicationRequest"):
        assert x["medicationCodeableConcept"]["coding"][0]["system"] == RXNORM
    units = UCUM_UNITS
    obs = _lines(fhir_dir, "Observation")
    for x in obs:
        coding = x["code"]["coding"][0]
        assert coding["system"] == LOINC
        q = x["valueQuantity"]
        assert q["system"] == UCUM and q["code"] == units[coding["code"]]
    a1c = [x["valueQuantity"]["value"] for x in obs if x["code"]["coding"][0]["code"] == "4548-4"]
    table = tables["observations"]
    assert sorted(a1c) == sorted(table.loc[table["loinc"] == "4548-4", "value"].tolist())
    genders = {x["gender"] for x in _lines(fhir_dir, "Patient")}
    assert genders == {"female", "male"}
    p = _lines(fhir_dir, "Patient")[0]
    row = tables["patients"].iloc[0]
    assert p["birthDate"] == row["birth_date"].strftime("%Y-%m-%d")
    assert p["name"][0]["family"] == row["last_name"]


def test_fhir_export_streams_chunks_the_same_as_whole_tables(
    tables: dict[str, pd.DataFrame], fhir_dir: Path, tmp_path: Path
) -> None:
    chunks = [(t, df.iloc[i : i + 97]) for t, df in tables.items() for i in range(0, len(df), 97)]
    write_fhir(tmp_path, iter(chunks))
    for resource in RESOURCES.values():
        assert (tmp_path / f"{resource}.ndjson").read_text() == (fhir_dir / f"{resource}.ndjson").read_text()


def test_run_rules_writes_the_pack(tmp_path: Path) -> None:
    counts = run_rules("ehr", 200, tmp_path / "ehr", seed=1, fmt="csv")
    assert counts["patients"] == 200
    for table, rows in counts.items():
        df = pd.read_csv(tmp_path / "ehr" / f"{table}.csv")
        assert len(df) == rows, table
    assert np.isin(pd.read_csv(tmp_path / "ehr" / "encounters.csv")["class"].unique(),
                   ["ambulatory", "emergency", "inpatient"]).all()  # fmt: skip


def test_fast_observation_lines_equal_the_resource_dicts(tables: dict[str, pd.DataFrame]) -> None:
    o = tables["observations"]
    lines = observations_ndjson(o)
    assert [json.loads(line) for line in lines] == list(to_fhir("observations", o))


def test_cli_writes_fhir_ndjson_that_validates(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from fhir.resources.R4B.patient import Patient

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulacra",
            "rules",
            "ehr",
            "-n",
            "60",
            "--out",
            str(tmp_path / "fhir"),
            "--format",
            "fhir",
            "--seed",
            "2",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    names = sorted(p.name for p in (tmp_path / "fhir").iterdir())
    assert names == [
        "Condition.ndjson",
        "Encounter.ndjson",
        "MedicationRequest.ndjson",
        "Observation.ndjson",
        "Patient.ndjson",
    ]
    lines = (tmp_path / "fhir" / "Patient.ndjson").read_text().splitlines()
    assert len(lines) == 60
    assert all(Patient.model_validate_json(line).id for line in lines)
    assert json.loads(lines[0])["resourceType"] == "Patient"
    wrong = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulacra",
            "rules",
            "shop",
            "-n",
            "10",
            "--out",
            str(tmp_path / "x"),
            "--format",
            "fhir",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode == 2 and "ehr" in wrong.stderr and not (tmp_path / "x").exists()
