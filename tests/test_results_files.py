"""Benchmark results files are written by their scripts only, and the README tables come from them.

Every ``benchmarks/results/*.json`` must be ``{"provenance", "results"}`` as ``benchmarks/provenance.py``
writes it: the provenance block complete, the results block matching the ``SCHEMA`` its script declares
and the SHA-256 digest recorded at write time. A key added or removed by hand, or a value rounded,
fails here. Files in ``benchmarks/results/legacy/`` (written before provenance was recorded) are not
checked and not rendered. The README tables between ``<!-- table:NAME -->`` markers must equal what
``benchmarks/render_tables.py`` renders from the files.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import provenance  # noqa: E402  (benchmarks/ is not a package)
import render_tables  # noqa: E402

FILES = sorted(RESULTS.glob("*.json"))


def _script(rel: str) -> ModuleType:
    path = ROOT / rel
    assert path.is_file(), f"the script {rel} named in the provenance does not exist"
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _problems(doc: dict) -> list[str]:
    if set(doc) != {"provenance", "results"}:
        return [f"top-level keys {sorted(doc)} (expected provenance, results)"]
    errors = provenance.check(doc["provenance"], provenance.PROVENANCE_SCHEMA, "$.provenance")
    if errors:
        return errors
    schema = _script(doc["provenance"]["script"]).SCHEMA
    errors = provenance.check(doc["results"], schema, "$.results")
    if provenance.digest(doc["results"]) != doc["provenance"]["results_sha256"]:
        errors.append("results block differs from what the script wrote (digest mismatch)")
    return errors


def test_there_are_results_files_with_provenance():
    assert FILES, "benchmarks/results/ holds no results file"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_results_file_matches_its_script(path: Path):
    doc = json.loads(path.read_text())
    assert _problems(doc) == []


def test_hand_edits_are_caught():
    """A key added, a key removed or a value rounded each fail the check (the test can fail)."""
    doc = json.loads(FILES[0].read_text())
    assert _problems(doc) == []

    added = copy.deepcopy(doc)
    added["results"]["typed_by_hand"] = 1.0
    assert any("unexpected key" in e for e in _problems(added))

    removed = copy.deepcopy(doc)
    removed["results"].pop(next(iter(removed["results"])))
    assert _problems(removed)

    rounded = copy.deepcopy(doc)

    def round_first_float(node) -> bool:  # noqa: ANN001
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for k, v in list(items):
            if isinstance(v, float) and round(v, 2) != v:
                node[k] = round(v, 2)
                return True
            if isinstance(v, dict | list) and round_first_float(v):
                return True
        return False

    assert round_first_float(rounded["results"])
    assert any("digest" in e for e in _problems(rounded))


def test_schema_checker_rejects_wrong_types():
    schema = {"a": float, "b": [int], "c": provenance.Opt({"*": (str, None)})}
    assert provenance.check({"a": 1.5, "b": [1, 2]}, schema) == []
    assert provenance.check({"a": 1.5, "b": [1, 2], "c": {"x": None, "y": "z"}}, schema) == []
    assert provenance.check({"a": 1, "b": [1]}, schema)  # an int where a float is written
    assert provenance.check({"a": 1.5, "b": [True]}, schema)  # a bool is not an int
    assert provenance.check({"a": 1.5}, schema)  # missing key
    assert provenance.check({"a": 1.5, "b": [], "c": {"x": 3}}, schema)


def test_readme_tables_are_rendered_from_the_results_files():
    for readme in render_tables.READMES:
        text = readme.read_text()
        assert render_tables.MARKER.search(text), f"{readme.name} has no rendered table"
        assert render_tables.render(text) == text, (
            f"{readme.relative_to(ROOT)} differs from the results files: "
            "run python benchmarks/render_tables.py"
        )


def test_a_typed_number_in_a_table_is_caught():
    readme = render_tables.READMES[1]
    text = readme.read_text()
    m = render_tables.MARKER.search(text)
    assert m
    edited = text[: m.start("body")] + "| 0.999 |\n" + text[m.start("body") :]
    assert render_tables.render(edited) != edited
