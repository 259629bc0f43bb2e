"""Score a trained translator run the way a user would: ``jaxrnn translate --checkpoint DIR < sources``.

The length penalty (GNMT's α) is chosen on the first ``--max-valid`` validation pairs (beam search, in
process); then the whole test split's English sources go through the ``jaxrnn translate`` command on
standard input, greedy and with beam search, and its output lines are scored against the raw French
references with sacrebleu (BLEU cased and case-insensitive, chrF), beside the copy baseline (the English
source output unchanged). With ``--hold-out``, the held-out catalogues are scored too (out of domain).

Run: ``python -m bench.translation_score --checkpoint runs/translator-bahdanau``
Writes ``translation_score.json`` in the run directory.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

from jaxrnn.seq2seq import evaluate, load_translator, score_translations
from jaxrnn.seq2seq.cli import load_corpus
from jaxrnn.text import split_pairs

DATA = pathlib.Path(
    os.environ.get("JAXRNN_DATA", pathlib.Path(__file__).resolve().parents[2] / "shared" / "data")
)


def translate_cli(checkpoint: str, sources: list[str], beam_width: int, alpha: float) -> list[str]:
    """The ``jaxrnn translate`` command's output lines for ``sources`` given on standard input."""
    command = [sys.executable, "-m", "jaxrnn", "translate", "--checkpoint", checkpoint, "--quiet"]
    command += ["--beam-width", str(beam_width), "--length-penalty", str(alpha)]
    stdin = "\n".join(sources) + "\n"
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=True)
    lines = done.stdout.split("\n")[: len(sources)]
    if len(lines) != len(sources):
        raise RuntimeError(f"jaxrnn translate printed {len(lines)} lines for {len(sources)} sources")
    return lines


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a `jaxrnn train translator` run directory")
    parser.add_argument("--corpus", default=str(DATA / "translation" / "en-fr.tsv"))
    parser.add_argument("--hold-out", default="", help="comma-separated catalogues the run held out")
    parser.add_argument("--alphas", default="0,0.6,1.0", help="length penalties tried on validation")
    parser.add_argument("--max-valid", type=int, default=500)
    parser.add_argument("--beam-width", type=int, default=4)
    args = parser.parse_args(argv)
    held = [c for c in args.hold_out.split(",") if c]
    split = split_pairs(load_corpus(args.corpus), valid_fraction=0.05, test_fraction=0.05, held_out=held)
    translator = load_translator(args.checkpoint)
    valid = split["valid"][: args.max_valid]
    by_alpha = {
        float(a): evaluate(translator, valid, beam_width=args.beam_width, length_penalty=float(a))["bleu"]
        for a in args.alphas.split(",")
    }
    alpha = max(by_alpha, key=by_alpha.get)
    report: dict = {"checkpoint": args.checkpoint, "valid_bleu_by_alpha": by_alpha, "alpha": alpha}
    for name in ("test", "held_out"):
        pairs = split.get(name) or []
        if not pairs:
            continue
        sources, references = [p[0] for p in pairs], [p[1] for p in pairs]
        scores = {"pairs": len(pairs), "copy": score_translations(sources, references)}
        for label, width in (("greedy", 1), (f"beam{args.beam_width}", args.beam_width)):
            lines = translate_cli(args.checkpoint, sources, width, alpha)
            scores[label] = score_translations(lines, references)
        report[name] = scores
        print(json.dumps({name: scores}))
    pathlib.Path(args.checkpoint, "translation_score.json").write_text(json.dumps(report, indent=1))
    print(f"\nα = {alpha} (validation BLEU by α: {by_alpha})")
    print("| split | pairs | copy the source | greedy | beam |")
    print("|---|---|---|---|---|")
    for name in ("test", "held_out"):
        if name in report:
            r = report[name]
            cells = [
                f"{r[k]['bleu']:.1f} / {r[k]['bleu_uncased']:.1f} / {r[k]['chrf']:.1f}"
                for k in ("copy", "greedy", f"beam{args.beam_width}")
            ]
            print(f"| {name} | {r['pairs']} | " + " | ".join(cells) + " |")
    return report


if __name__ == "__main__":
    main()
