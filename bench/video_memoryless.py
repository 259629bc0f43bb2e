"""What a model without memory scores on moving-MNIST clips: the CNN -> LSTM with its state reset every frame.

The clip classifier's bar (95% of test clips with digit and direction right) should be out of reach of a
model that sees only the last frame. This trains ``jaxrnn.tasks.video.memoryless(lstm_cell(units))`` in the
``--model lstm`` network with the same settings as ``jaxrnn train video`` and prints its validation and
test metrics (the last frame's position still tells something about the direction, since every path stays
on the canvas).

Run: ``python -m bench.video_memoryless --data-dir DIR [--epochs 3] [--train-size N]``.
"""

from __future__ import annotations

import argparse
from typing import Any

from bench import timing
from jaxrnn.cells import lstm_cell
from jaxrnn.tasks.video import VideoConfig, memoryless, train_video, video_classifier


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train the memoryless model, print its held-out metrics, write ``bench/out/video_memoryless.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=VideoConfig.epochs)
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    config = VideoConfig(
        model="lstm", epochs=args.epochs, train_size=args.train_size, data_dir=args.data_dir, quiet=args.quiet
    )
    model = video_classifier("lstm", canvas=config.canvas, rnn=memoryless(lstm_cell(config.units)))
    result = train_video(config, model=model)
    rows = [
        [split, *(result[split][k] for k in ("accuracy", "digit_accuracy", "direction_accuracy"))]
        for split in ("validation", "test")
    ]
    timing.print_table(["split", "accuracy (both)", "digit", "direction"], rows)
    payload = {
        "env": timing.environment(),
        "config": result["config"],
        **{k: result[k] for k in ("validation", "test")},
    }
    print(f"wrote {timing.write_json('video_memoryless', payload)}")
    return payload


if __name__ == "__main__":
    main()
