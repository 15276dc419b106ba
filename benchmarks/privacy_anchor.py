"""Child of ``benchmarks/privacy.py``: fit one smartnoise-synth synthesizer (MST or AIM) and sample.

Runs in its own virtual environment (smartnoise-synth pins packages — opacus, numpy, JAX — that the
project's environment must not take), so it imports nothing from simulacra::

    python privacy_anchor.py --synth mst --epsilon 1 --delta 1e-6 --train train.csv --out syn.csv \
        --rows 32561 --categorical a,b --continuous c,d --preprocessor-share 0.2

It prints one JSON line: fit and sample seconds. The continuous columns' bins are paid for from the
budget (``preprocessor_eps`` = the share of ε that simulacra's private codecs get), so both sides spend
the same ε on what they learn.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--synth", choices=("mst", "aim"), required=True)
    parser.add_argument("--epsilon", type=float, required=True)
    parser.add_argument("--delta", type=float, required=True)
    parser.add_argument("--train", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--categorical", default="")
    parser.add_argument("--continuous", default="")
    parser.add_argument("--preprocessor-share", type=float, default=0.2)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from snsynth import Synthesizer

    data = pd.read_csv(args.train)
    cats = [c for c in args.categorical.split(",") if c]
    nums = [c for c in args.continuous.split(",") if c]
    for c in cats:
        data[c] = data[c].astype(str)
    pre = args.epsilon * args.preprocessor_share
    synth = Synthesizer.create(args.synth, epsilon=args.epsilon, delta=args.delta)
    t0 = time.perf_counter()
    synth.fit(
        data[cats + nums],
        categorical_columns=cats,
        continuous_columns=nums,
        preprocessor_eps=pre,
        nullable=True,
    )
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = synth.sample(args.rows)
    sample_s = time.perf_counter() - t0
    out.to_csv(args.out, index=False)
    print(json.dumps({"fit_s": fit_s, "sample_s": sample_s, "preprocessor_eps": pre}))


if __name__ == "__main__":
    main()
