"""The package's shape, enforced: no reaching into another package's private names, no import cycle
between packages, the library never imports its CLI, randomness made only in ``seeding.py``, and no
module over 500 lines without a reason at its top.

Each check reads the source with :mod:`ast`; a failure lists every offending place.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1] / "src" / "simulacra"
RNG_CALLS = {"default_rng", "manual_seed", "RandomState", "seed"}
LONG_LINES = 500


def _module(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _package(parts: list[str]) -> str:
    """The top-level package (or leaf module) a dotted name belongs to: ``simulacra.text.spec`` → ``text``."""
    return parts[1] if len(parts) > 1 and parts[0] == "simulacra" else ""


def _imports(path: Path) -> list[tuple[int, list[str], list[str]]]:
    """(line, target module parts, imported names) for every import in a file, relative ones resolved."""
    here = _module(path)
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if path.name == "__init__.py" else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            out.append((node.lineno, target, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name.split("."), []) for a in node.names)
    return out


SOURCES = sorted(ROOT.rglob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_imported_across_packages() -> None:
    found = []
    for path in SOURCES:
        here = _package(_module(path)) or path.stem
        for line, target, names in _imports(path):
            there = _package(target)
            if not there or there == here:
                continue
            bad = [n for n in names if _private(n)] + [p for p in target[2:] if _private(p)]
            found += [f"{path.relative_to(ROOT)}:{line} {b} from {'.'.join(target)}" for b in bad]
    assert not found, "private names imported across packages:\n" + "\n".join(found)


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in SOURCES:
        here = _package(_module(path)) or path.stem
        for _, target, _names in _imports(path):
            there = _package(target)
            if there and there != here:
                edges.setdefault(here, set()).add(there)
    return edges


def test_no_import_cycle_between_packages() -> None:
    edges = _graph()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(edges.get(node, ()))
        return False

    cycles = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if reaches(b, a)})
    assert not cycles, f"packages that import each other (directly or through others): {cycles}"


def test_the_library_never_imports_its_cli() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}" for path in SOURCES if _package(_module(path)) not in ("cli",)
             and path.name != "__main__.py"
             for line, target, _ in _imports(path) if _package(target) == "cli"]
    assert not found, "library modules importing simulacra.cli: " + ", ".join(found)


def test_randomness_is_made_only_in_seeding() -> None:
    found = []
    for path in SOURCES:
        if path.name == "seeding.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                owner = f.value if isinstance(f, ast.Attribute) else None
                is_random_module = isinstance(owner, ast.Attribute) and owner.attr == "random" or (
                    isinstance(owner, ast.Name) and owner.id in ("random", "torch"))
                if name in RNG_CALLS - {"seed"} or (name == "seed" and is_random_module):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert not found, "random generators made outside seeding.py:\n" + "\n".join(found)


def test_long_modules_say_why() -> None:
    found = []
    for path in SOURCES:
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > LONG_LINES and "reason" not in "\n".join(lines[:5]).lower():
            found.append(f"{path.relative_to(ROOT)} ({len(lines)} lines)")
    assert not found, f"modules over {LONG_LINES} lines with no reason in their first 5 lines: {found}"
