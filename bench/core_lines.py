"""Line counts of the core modules (issue 17's "the library is shorter"), before the redesign and now.

    python -m bench.core_lines [--before eb999d2^] [--after WORKTREE|COMMIT]

Counts ``wc -l`` lines of the modules the core redesign touched (cells, unrollers, fast path, masking,
wrappers, checks, pipeline, ...) plus ``wavefront.py`` (added after it), at a commit read through
``git show`` and in the working tree (or a second commit). Modules renamed since
(``_fused_scan.py`` → ``fused.py``, ``_checks.py`` → ``checks.py``) are counted under their new names.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[1]
CORE = (
    "jaxrnn/__init__.py",
    "jaxrnn/checks.py",
    "jaxrnn/cells.py",
    "jaxrnn/layers.py",
    "jaxrnn/parallel/pipeline.py",
    "jaxrnn/parallel/placement.py",
    "jaxrnn/tbptt.py",
    "jaxrnn/tuning.py",
    "jaxrnn/unroll.py",
    "jaxrnn/wrappers.py",
    "jaxrnn/interop/torch.py",
    "jaxrnn/fused.py",
    "jaxrnn/masking.py",
    "jaxrnn/wavefront.py",
)
RENAMED = {"jaxrnn/fused.py": "jaxrnn/_fused_scan.py", "jaxrnn/checks.py": "jaxrnn/_checks.py"}


def count_lines(path: str, commit: str | None) -> int:
    """Lines of ``path`` at ``commit`` (``None``: the working tree); 0 when the file does not exist there."""
    if commit is None:
        file = REPO / path
        return len(file.read_text().splitlines()) if file.exists() else 0
    for name in (path, RENAMED.get(path)):
        if name is None:
            continue
        done = subprocess.run(
            ["git", "show", f"{commit}:{name}"], cwd=REPO, capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            return len(done.stdout.splitlines())
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="eb999d2^", help="commit before the redesign")
    parser.add_argument("--after", default=None, help="a commit (default: the working tree)")
    args = parser.parse_args()
    rows = [(path, count_lines(path, args.before), count_lines(path, args.after)) for path in CORE]
    print(f"| module | {args.before} | {args.after or 'working tree'} |")
    print("|---|---|---|")
    for path, before, after in rows:
        print(f"| {path} | {before} | {after} |")
    wave = [r for r in rows if r[0].endswith("wavefront.py")][0]
    total_before, total_after = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"| **total** | **{total_before}** | **{total_after}** |")
    print(f"| total without wavefront.py | {total_before - wave[1]} | {total_after - wave[2]} |")
    package = sum(len(p.read_text().splitlines()) for p in (REPO / "jaxrnn").rglob("*.py"))
    print(f"whole package (working tree): {package} lines")


if __name__ == "__main__":
    main()
