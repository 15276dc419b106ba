"""Child of ``benchmarks/attacks.py``: anonymeter 1.1.0's three attacks on the rows it is given.

Runs in its own virtual environment (anonymeter pins numpy 1.26 and pyarrow 21, which the project's
environment must not take), so it imports nothing from simulacra::

    python attacks_anchor.py --train t.parquet --control c.parquet --synthetic s.parquet \
        --aux-a a,b --aux-b c,d --secret income --n-attacks 2000 --max-attempts 100000 --seed 0 \
        --only singling_out_univariate,linkability

It prints one JSON line: for each attack its risk, interval, success rates and seconds.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import pandas as pd

ATTACKS = ("singling_out_univariate", "singling_out_multivariate", "linkability", "inference")


def _result(evaluator, seconds: float) -> dict:
    res = evaluator.results()
    risk = res.risk()
    return {
        "risk": float(risk.value),
        "ci": [float(risk.ci[0]), float(risk.ci[1])],
        "attack_rate": float(res.attack_rate.value),
        "control_rate": float(res.control_rate.value),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("train", "control", "synthetic", "aux_a", "aux_b", "secret"):
        parser.add_argument(f"--{name.replace('_', '-')}", required=True)
    parser.add_argument("--n-attacks", type=int, required=True)
    parser.add_argument("--max-attempts", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=",".join(ATTACKS))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    ori, ctl, syn = (pd.read_parquet(p) for p in (args.train, args.control, args.synthetic))
    aux = (args.aux_a.split(","), args.aux_b.split(","))
    out = {}
    for name in args.only.split(","):
        t0 = time.perf_counter()
        if name.startswith("singling_out"):
            ev = SinglingOutEvaluator(ori=ori, syn=syn, control=ctl, n_attacks=args.n_attacks,
                                      max_attempts=args.max_attempts, seed=args.seed)
            ev.evaluate(mode=name.rsplit("_", 1)[1])
        elif name == "linkability":
            ev = LinkabilityEvaluator(ori=ori, syn=syn, control=ctl, aux_cols=aux, n_attacks=args.n_attacks,
                                      n_neighbors=1)
            ev.evaluate(n_jobs=-1)
        else:
            known = [c for c in ori.columns if c != args.secret]
            ev = InferenceEvaluator(ori=ori, syn=syn, control=ctl, aux_cols=known, secret=args.secret,
                                    n_attacks=args.n_attacks)
            ev.evaluate(n_jobs=-1)
        out[name] = _result(ev, time.perf_counter() - t0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
