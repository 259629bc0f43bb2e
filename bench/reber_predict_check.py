"""Independent check: README command 1 (``jaxrnn train classifier``), then ``jaxrnn predict``, long strings.

Draws unseen embedded-Reber strings 30-60 symbols long with a generator written here (not the
library's), and their long-range negatives (the letter before the final ``E`` swapped T<->P, the only
thing that needs memory: a memoryless model scores 50% on the pairs), feeds both to the
``jaxrnn predict`` command as a user would, and reports the accuracy on each half. Exit status 1 when
either is below ``--bar`` (0.95).

    python -m bench.reber_predict_check                 # trains runs/classifier-reber-default if absent
    python -m bench.reber_predict_check --run RUN_DIR   # checks an existing run
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

import numpy as np

from bench.provenance import provenance

# the Reber automaton (Géron ch. 14, exercise 7), written out as edges: state -> [(letter, next state)]
EDGES: dict[str, list[tuple[str, str | None]]] = {
    "start": [("B", "a")],
    "a": [("T", "b"), ("P", "c")],
    "b": [("S", "b"), ("X", "d")],
    "c": [("T", "c"), ("V", "e")],
    "d": [("X", "c"), ("S", "f")],
    "e": [("P", "d"), ("V", "f")],
    "f": [("E", None)],
}
LOOPS = {"b": "S", "c": "T", "d": "X", "e": "P"}  # the letter of each state that stays on the long path


def inner(rng: np.random.Generator, stay: float) -> str:
    out: list[str] = []
    state: str | None = "start"
    while state is not None:
        edges = EDGES[state]
        if state in LOOPS:
            letter = LOOPS[state] if rng.random() < stay else next(c for c, _ in edges if c != LOOPS[state])
            state = dict(edges)[letter]
        else:
            letter, state = edges[rng.integers(len(edges))]
        out.append(letter)
    return "".join(out)


def long_strings(n: int, seed: int, low: int = 30, high: int = 60) -> list[str]:
    """``n`` distinct valid embedded strings with ``low <= length <= high``."""
    rng = np.random.default_rng(seed)
    found: dict[str, None] = {}
    while len(found) < n:
        wrap = "TP"[rng.integers(2)]
        s = f"B{wrap}{inner(rng, 0.75)}{wrap}E"
        if low <= len(s) <= high:
            found[s] = None
    return list(found)


def training_strings(run: pathlib.Path) -> set[str]:
    """The run's training strings, regenerated from its config (to leave them out of the check)."""
    from jaxrnn.tasks.classifier import load_splits

    config = json.loads((run / "config.json").read_text())
    data = load_splits("reber", train_size=config.get("train_size"), seed=config["seed"])["train"]
    return {
        "".join("BEPSTVX"[i] for i in x[:n].argmax(-1))
        for x, n in zip(data["inputs"], data["sequence_length"])
    }


def predict(run: pathlib.Path, strings: list[str]) -> list[int]:
    cmd = [sys.executable, "-m", "jaxrnn", "predict", "--checkpoint", str(run)]
    done = subprocess.run(cmd, input="\n".join(strings) + "\n", capture_output=True, text=True, check=True)
    return [int(line.split("\t")[0]) for line in done.stdout.splitlines()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/classifier-reber-default")
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--bar", type=float, default=0.95)
    args = parser.parse_args(argv)
    run = pathlib.Path(args.run)
    if not (run / "config.json").is_file():
        print(f"training README command 1 into {run}: jaxrnn train classifier --out {run}", flush=True)
        subprocess.run([sys.executable, "-m", "jaxrnn", "train", "classifier", "--out", str(run)], check=True)
    seen = training_strings(run)
    valid = [s for s in long_strings(args.pairs + 50, args.seed) if s not in seen][: args.pairs]
    twins = [s[:-2] + {"T": "P", "P": "T"}[s[-2]] + s[-1] for s in valid]
    labels = predict(run, valid + twins)
    acc_valid = float(np.mean(np.array(labels[: len(valid)]) == 1))
    acc_twins = float(np.mean(np.array(labels[len(valid) :]) == 0))
    lengths = [len(s) for s in valid]
    report = {
        "run": str(run),
        "pairs": len(valid),
        "lengths": [min(lengths), int(np.median(lengths)), max(lengths)],
        "left_out_as_seen_in_training": sum(s in seen for s in long_strings(args.pairs + 50, args.seed)),
        "valid_accuracy": acc_valid,
        "twins_accuracy": acc_twins,
        **provenance(),
    }
    print(json.dumps(report, indent=1))
    ok = acc_valid >= args.bar and acc_twins >= args.bar
    print(
        f"{'PASS' if ok else 'FAIL'}: valid {acc_valid:.4f}, long-range twins {acc_twins:.4f} "
        f"(bar {args.bar})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
