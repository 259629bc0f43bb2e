"""bench.peers: PyTorch is timed in a process of its own, and the table has its row beside the JAX ones."""

from __future__ import annotations

import pytest

from bench import peers, timing

pytest.importorskip("torch")


def test_torch_is_timed_in_its_own_process(monkeypatch, tmp_path):
    # the parent must never build the PyTorch step itself: make that fail loudly here
    def refuse(*args, **kwargs):
        raise AssertionError("torch_impl ran in the parent process")

    monkeypatch.setitem(peers.IMPLS, "torch", refuse)
    monkeypatch.setattr(timing, "OUT_DIR", tmp_path)
    result = peers.main(
        [
            "--workloads",
            "lstm_infer",
            "--impls",
            "jaxrnn,torch",
            "--hidden",
            "8",
            "--time",
            "3",
            "--repeats",
            "2",
        ]
    )
    row = result["lstm_infer"]["torch"]
    assert len(row["times_ms"]) == 2 and all(t > 0 for t in row["times_ms"])
    assert row["compared_with"] == "jaxrnn" and row["median_ms"] > 0
    assert (tmp_path / "peers.json").is_file()


def test_child_mode_writes_only_its_times(tmp_path):
    out = tmp_path / "times.json"
    raw = peers.main(
        ["--workloads", "mnist", "--impls", "torch", "--hidden", "8", "--time", "3", "--repeats", "3",
         "--times-out", str(out)]
    )  # fmt: skip
    assert out.is_file() and set(raw) == {"mnist"} and set(raw["mnist"]) == {"torch"}
    assert len(raw["mnist"]["torch"]) == 3
