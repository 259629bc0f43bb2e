"""The ``jaxrnn`` command line."""

from __future__ import annotations

import argparse
import sys


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxrnn", description="Recurrent neural networks in JAX.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="run the book's 2-step, 4-instance example")
    demo.add_argument("--seed", type=int, default=42, help="PRNG seed for the weights")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jaxrnn`` command; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "demo":
        from jaxrnn.demo import run_demo

        run_demo(seed=args.seed)
        return 0
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return 2


if __name__ == "__main__":
    sys.exit(main())
