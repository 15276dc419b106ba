"""The student's examples: files read and checked (one line per problem), and turned into token ids.

classify: a table (CSV, JSONL, Parquet, ...) with a text field and a label field; each row becomes a user
turn asking for one label of the label set and an assistant turn that is the label. chat: JSONL with
``messages`` (``[{"role", "content"}, ...]``) or ``turns`` (user and assistant strings alternating).
Only assistant tokens are trained on and scored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..io import read_table

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Example:
    """One conversation; ``label`` is set for classify (the assistant's answer)."""

    messages: tuple[tuple[str, str], ...]
    label: str | None = None

    @property
    def prompt(self) -> tuple[tuple[str, str], ...]:
        """The turns before the last assistant turn."""
        return self.messages[:-1]


def classify_prompt(text: str, labels: list[str]) -> str:
    """The user turn asking for one label."""
    return f"Classify the text. Answer with one of: {', '.join(labels)}.\n\nText: {text}"


def name_of(source: Any, what: str) -> str:
    """How an input is named in errors: its path, else what it is (``--holdout``)."""
    return str(source) if isinstance(source, str | Path) else what


def read_classify(source: Any, text_field: str, target: str, what: str) -> list[tuple[str, str]]:
    """(text, label) pairs from a file, a DataFrame or a list of dicts; one-line errors naming the field."""
    name = name_of(source, what)
    if isinstance(source, str | Path):
        df = read_table(source)
    elif isinstance(source, pd.DataFrame):
        df = source
    else:
        df = pd.DataFrame(list(source))
    if len(df) == 0:
        raise DataError(f"{name}: no rows; {what} needs at least one example")
    for field, flag in ((text_field, "--text-field"), (target, "--target")):
        if field not in df.columns:
            cols = ", ".join(map(str, df.columns[:8]))
            raise DataError(f"{name}: no field {field!r} (fields: {cols}); name it with {flag}")
    pairs = []
    for i, (text, label) in enumerate(zip(df[text_field], df[target], strict=True)):
        if label is None or (isinstance(label, float) and pd.isna(label)) or str(label).strip() == "":
            raise DataError(f"{name}: row {i + 1} has no {target!r}; every example needs a label")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{name}: row {i + 1} has no text in {text_field!r}")
        pairs.append((text, str(label).strip()))
    return pairs


def classify_examples(pairs: list[tuple[str, str]], labels: list[str]) -> list[Example]:
    """Each (text, label) as a user turn and the label as the assistant's answer."""
    return [Example((("user", classify_prompt(t, labels)), ("assistant", y)), y) for t, y in pairs]


def check_labels(pairs: list[tuple[str, str]], labels: list[str], name: str, target: str) -> None:
    """Refuse a label outside the label set (the labels of the training sets)."""
    for i, (_, y) in enumerate(pairs):
        if y not in labels:
            raise DataError(
                f"{name}: row {i + 1} has {target} {y!r}, not in the label set ({', '.join(labels)}) "
                "learned from the training sets; fix the label or add examples of it"
            )


def _records(source: Any, name: str) -> list[Any]:
    if not isinstance(source, str | Path):
        return list(source)
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            raise DataError(
                f"{name}: line {n} is not JSON; chat files are JSONL, one conversation a line"
            ) from None
    return records


def read_chat(source: Any, what: str) -> list[Example]:
    """Conversations from JSONL (``messages`` or ``turns``) or a list of such dicts."""
    name = name_of(source, what)
    examples = []
    for n, rec in enumerate(_records(source, name), 1):
        if isinstance(rec, dict) and isinstance(rec.get("messages"), list):
            # `simulacra text` keeps the spec's own role names (customer, agent) and their chat roles
            meta = rec.get("_meta") if isinstance(rec.get("_meta"), dict) else {}
            chat_roles = meta.get("chat_roles") if isinstance(meta.get("chat_roles"), dict) else {}
            msgs = []
            for m in rec["messages"]:
                role = chat_roles.get(m.get("role"), m.get("role")) if isinstance(m, dict) else None
                if role not in ROLES or not isinstance(m.get("content"), str):
                    raise DataError(
                        f"{name}: line {n}: each message needs a role ({'/'.join(ROLES)}, or one that "
                        "_meta.chat_roles maps to them) and content"
                    )
                msgs.append((role, m["content"]))
        elif isinstance(rec, dict) and isinstance(rec.get("turns"), list):
            if not all(isinstance(t, str) for t in rec["turns"]):
                raise DataError(f"{name}: line {n}: 'turns' must be strings (user, assistant, user, ...)")
            msgs = [("user" if i % 2 == 0 else "assistant", t) for i, t in enumerate(rec["turns"])]
        else:
            raise DataError(
                f"{name}: line {n} has no 'messages' or 'turns' list; give one conversation a line"
            )
        while msgs and msgs[-1][0] != "assistant":
            msgs.pop()
        if not msgs:
            raise DataError(f"{name}: line {n} has no assistant turn to learn or score")
        examples.append(Example(tuple(msgs)))
    if not examples:
        raise DataError(f"{name}: no conversations; {what} needs at least one")
    return examples


def _render(tokenizer: Any, messages: list[tuple[str, str]], generation: bool) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": r, "content": c} for r, c in messages], tokenize=False, add_generation_prompt=generation
        )
    text = "".join(f"{r.capitalize()}: {c}\n" for r, c in messages)  # a base model without a template
    return text + ("Assistant:" if generation else "")


def _ids(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def encode(
    tokenizer: Any, example: Example, max_len: int, answer: str | None = None
) -> tuple[list[int], list[int]]:
    """Token ids and a 0/1 mask of the assistant tokens (all assistant turns), cut to ``max_len``.

    With ``answer``, the last assistant turn is replaced by it (a candidate label). The prompt is cut
    from the left when needed so the answer is always whole.
    """
    msgs = list(example.messages)
    if answer is not None:
        msgs[-1] = ("assistant", answer)
    ids: list[int] = []
    mask: list[int] = []
    for i, (role, _) in enumerate(msgs):
        if role != "assistant":
            continue
        before = _ids(tokenizer, _render(tokenizer, msgs[:i], True))
        upto = _ids(tokenizer, _render(tokenizer, msgs[: i + 1], False))
        if upto[: len(before)] != before:  # a tokenizer that merges across the boundary
            before = upto[: len(before)]
        mask += [0] * (len(before) - len(ids)) + [1] * (len(upto) - len(before))
        ids = upto
    if len(ids) > max_len:
        last = max(i for i, m in enumerate(mask) if m) + 1 if any(mask) else len(ids)
        start = max(0, min(len(ids) - max_len, last - max_len))
        ids, mask = ids[start : start + max_len], mask[start : start + max_len]
    return ids, mask


def prompt_ids(tokenizer: Any, example: Example, max_len: int) -> list[int]:
    """The prompt of an example ready for generation (its last ``max_len`` tokens)."""
    return _ids(tokenizer, _render(tokenizer, list(example.prompt), True))[-max_len:]
