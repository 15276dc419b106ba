"""The ``student`` section (``simulacra evaluate ... --student FOLDER``): did fine-tuning a small model on the
synthetic data help on real held-out examples?

It reads the ``student.json`` that ``simulacra finetune`` wrote into its ``--out`` folder (no model is
loaded) and shows each trained arm's score on the real holdout beside the untouched base model's, with
the fine-tuning verdict: better than the base model passes, no clear difference warns, worse fails.
With a teacher in the file, the synthetic-trained student's agreement with the teacher beyond chance
warns when it is clearly above the real-seeds student's (it inherited the teacher's mistakes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import DataError, UsageError
from ..formatting import format_number
from .scores import score, worst

NAMES = {
    "base": "the base model",
    "seeds": "the real seeds",
    "synthetic": "the synthetic set",
    "both": "both",
}
METRIC_LABEL = {"macro_f1": "macro-F1", "loss": "per-token loss"}
CALL_STATUS = {"better": "pass", "no clear difference": "warn", "worse": "fail"}
"""A comparison's outcome (``better`` means better than the arm compared against) as a status."""


def read_student(folder: str | os.PathLike) -> dict[str, Any]:
    """``student.json`` of a ``simulacra finetune`` output folder, checked; one-line errors naming it."""
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(f"--student {path}: no such folder; give the --out folder of `simulacra finetune`")
    file = path / "student.json"
    if not file.is_file():
        raise UsageError(f"--student {path}: no student.json; give the --out folder of `simulacra finetune`")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"--student {file}: not readable as JSON ({type(exc).__name__})") from None
    problem = _problem(data)
    if problem is None:
        try:  # every field the section reads, read once
            student_section(data)
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            problem = f"a field is missing or malformed ({type(exc).__name__}: {exc})"
    if problem:
        raise DataError(f"--student {file}: {problem}; not a student.json written by `simulacra finetune`")
    return data


def _problem(data: Any) -> str | None:
    """What makes ``data`` unusable as a student report, or ``None``."""
    if not isinstance(data, dict):
        return "not a JSON object"
    metric = data.get("metric")
    if data.get("task") not in ("classify", "chat") or metric not in METRIC_LABEL:
        return "no task (classify or chat) and metric"
    arms = data.get("arms")
    if not isinstance(arms, dict) or not {"base", "synthetic"} <= set(arms):
        return "no 'arms' with base and synthetic"
    for arm, entry in arms.items():
        scores = entry.get("scores") if isinstance(entry, dict) else None
        s = scores.get(metric) if isinstance(scores, dict) else None
        if arm not in NAMES or not _is_scored(s):
            return f"arm {arm!r} has no {metric} value and interval"
    verdict = data.get("verdict")
    if not isinstance(verdict, dict) or verdict.get("synthetic_vs_base") not in CALL_STATUS:
        return "no verdict"
    if not isinstance(data.get("comparisons"), list):
        return "no comparisons"
    return None


def _is_scored(s: Any) -> bool:
    return (
        isinstance(s, dict)
        and isinstance(s.get("value"), int | float)
        and isinstance(s.get("interval"), list)
        and len(s["interval"]) == 2
    )


def _call(comparison: dict[str, Any], sign: int) -> str:
    lo, hi = (sign * v for v in comparison["interval"])
    return "better" if min(lo, hi) > 0 else "worse" if max(lo, hi) < 0 else "no clear difference"


def student_section(data: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    """The report section of a checked ``student.json`` (:func:`read_student`)."""
    metric, arms = data["metric"], data["arms"]
    sign = 1 if metric == "macro_f1" else -1
    label = METRIC_LABEL[metric]
    ideal = "higher" if sign > 0 else "lower"
    by = {(c["arm"], c["against"]): c for c in data["comparisons"] if isinstance(c, dict)}
    base_value = arms["base"]["scores"][metric]["value"]
    scores = []
    for arm in ("synthetic", "both"):
        if arm not in arms:
            continue
        s = arms[arm]["scores"][metric]
        comp = by.get((arm, "base"))
        status = CALL_STATUS[_call(comp, sign)] if comp else "n/a"
        scores.append(
            score(
                f"student_{arm}",
                f"Student fine-tuned on {NAMES[arm]}: {label} on the real holdout",
                s["value"],
                base_value,
                ideal=ideal,
                status=status,
                ci=s["interval"],
                explain="The reference is the base model untouched. Passes when the student is clearly "
                f"{'better' if sign > 0 else 'lower'} (the 95% interval of the paired difference "
                "excludes 0), warns when it is not clearly different, fails when it is clearly worse.",
            )
        )
    vs_seeds = by.get(("synthetic", "seeds"))
    if vs_seeds is not None:
        call = _call(vs_seeds, sign)
        scores.append(
            score(
                "student_synthetic_vs_seeds",
                f"Synthetic-trained minus real-seeds-trained student: {label}",
                vs_seeds["difference"],
                0.0,
                ideal=ideal,
                status="pass" if call == "better" else "warn",
                ci=vs_seeds["interval"],
                explain="Did the synthetic set teach more than the few real seeds alone? Passes when the "
                "interval of the difference lies on the better side of 0, warns otherwise.",
            )
        )
    teacher = data.get("teacher")
    if isinstance(teacher, dict) and "teacher" in arms["synthetic"]:
        scores.append(_teacher_score(teacher, arms))
    rows = [
        [
            NAMES[arm],
            int(entry.get("trained_on", 0)),
            entry["scores"][metric]["value"],
            entry["scores"][metric]["interval"][0],
            entry["scores"][metric]["interval"][1],
        ]
        for arm, entry in arms.items()
    ]
    section_status = CALL_STATUS[data["verdict"]["synthetic_vs_base"]]
    summary = str(data["verdict"].get("text") or "")
    if isinstance(teacher, dict) and teacher.get("text"):
        summary += " " + str(teacher["text"])
    return {
        "heading": "Student: a small model fine-tuned on the synthetic data",
        "question": "Does a small model fine-tuned on the synthetic data answer real held-out examples "
        "better than the model untouched, and than one fine-tuned on the real seeds alone?",
        "status": worst(
            [section_status, *(s["status"] for s in scores if s["key"] == "student_teacher_kappa")]
        ),
        "summary": summary,
        "scores": scores,
        "tables": [
            {
                "title": f"Every arm on the real holdout ({label}, 95% bootstrap interval)",
                "note": f"Written by `simulacra finetune` to {source}." if source else "",
                "columns": ["trained on", "examples", label, "interval low", "interval high"],
                "formats": [None, "0", "0.000", "0.000", "0.000"],
                "rows": rows,
            }
        ],
        "source": source,
        "task": data["task"],
    }


def _teacher_score(teacher: dict[str, Any], arms: dict[str, Any]) -> dict[str, Any]:
    """The synthetic-trained student's kappa with the teacher beside the real-seeds student's (else the
    base model's): clearly higher warns, the student inherited the teacher's mistakes."""
    against = "seeds" if "teacher" in arms.get("seeds", {}) else "base"
    mine = arms["synthetic"]["teacher"]["kappa"]
    ref = arms[against]["teacher"]["kappa"]["value"]
    comp = next(
        (
            c
            for c in teacher.get("comparisons", [])
            if c.get("arm") == "synthetic" and c.get("against") == against
        ),
        None,
    )
    lo = comp["interval"][0] if comp and comp["interval"][0] is not None else None
    return score(
        "student_teacher_kappa",
        "Agreement beyond chance with the teacher (Cohen's kappa), synthetic-trained student",
        mine["value"],
        ref,
        ideal="lower",
        status="n/a" if lo is None else "warn" if lo > 0 else "pass",
        ci=mine["interval"],
        explain=f"The teacher (the generating model) answered the same held-out texts. The reference is "
        f"the student trained on {NAMES[against]}. Warns when the synthetic-trained student agrees with the "
        "teacher clearly more (the paired interval of the difference lies above 0): it took on the "
        "teacher's mistakes, not only its knowledge.",
    )


def add_student_section(report: Any, data: dict[str, Any], source: str | None = None) -> Any:
    """Add the ``student`` section to ``report`` (a :class:`~simulacra.evaluation.report.Report`) and fold
    its status into the verdict, as every section's is (the verdict is the worst section's)."""
    section = student_section(data, source)
    report.data.setdefault("sections", {})["student"] = section
    old = report.data.get("verdict") or {"status": "n/a", "reasons": []}
    status, reasons = section["status"], list(old.get("reasons", []))
    combined = worst([old["status"], status])
    if old["status"] in ("pass", "n/a") and combined != old["status"] and reasons:
        reasons = reasons[1:]  # the "no problem found" (or "not computable") headline no longer holds
    if status in ("warn", "fail"):
        reason = f"Student: {data['verdict']['text']}"
        for s in section["scores"]:
            if s["key"] == "student_teacher_kappa" and s["status"] == "warn":
                mine, ref = (format_number(s[k], ".2f", missing="n/a") for k in ("value", "reference"))
                reason += (
                    " It agrees with the teacher beyond chance more than the student it is compared with "
                    f"(kappa {mine} against {ref}): it inherited the teacher's mistakes."
                )
        reasons.append(reason)
    report.data["verdict"] = {**old, "status": combined, "reasons": reasons}
    return report
