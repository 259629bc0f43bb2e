"""Two real processes (``jax.distributed``, CPU, loopback, gloo) train data-parallel like one process.

The pytest side starts this file twice as a script, as process 0 and 1 of a
2-process JAX cluster on 127.0.0.1 (one CPU device each). Each process runs
the README's multi-host recipe: ``make_mesh()`` over both processes' devices,
``data_parallel_train_step`` passed to ``fit``, and ``local_batches(epoch)``
giving that process ITS half of every global batch. Process 0 writes the
losses, the params and the checkpoint. The reference is the same two Adam
steps written out by hand (``value_and_grad`` + optax) on the whole batch in
the pytest process; they must agree to float32 rounding.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
NUM_PROCESSES = 2
GLOBAL_BATCH, STEPS, FEATURES, UNITS = 8, 5, 2, 6  # a basic tanh cell: quick to compile
LEARNING_RATE = 0.05


def _data() -> list[dict[str, np.ndarray]]:
    """Two global batches of a small sequence regression (float32)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(2):
        x = rng.normal(size=(GLOBAL_BATCH, STEPS, FEATURES)).astype(np.float32)
        out.append({"x": x, "y": np.cumsum(x[..., :1], axis=1).astype(np.float32)})
    return out


def _model():
    import jax
    import jax.numpy as jnp

    import jaxrnn

    cell = jaxrnn.output_projection(jaxrnn.basic_cell(UNITS), 1)
    params = cell.init(jax.random.key(0), FEATURES)

    def loss_fn(p, batch, key):
        out, _ = jaxrnn.dynamic_unroll(cell, p, batch["x"])
        loss = jnp.mean((out - batch["y"]) ** 2)  # the mean over the GLOBAL batch
        return loss, {"rmse": jnp.sqrt(loss)}

    return params, loss_fn


def _worker(process_id: int, port: int, out: pathlib.Path) -> None:
    started = time.perf_counter()

    def log(what: str) -> None:  # where the time goes, in the process' log
        print(f"[process {process_id}] {time.perf_counter() - started:6.1f} s  {what}", flush=True)

    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # collectives across processes
    jax.config.update("jax_numpy_rank_promotion", "raise")
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=NUM_PROCESSES,
        process_id=process_id,
        initialization_timeout=60,
    )
    log("jax.distributed.initialize done")
    import optax

    import jaxrnn

    assert jax.process_count() == NUM_PROCESSES and len(jax.devices()) == NUM_PROCESSES, jax.devices()
    params, loss_fn = _model()
    data = _data()
    per = GLOBAL_BATCH // NUM_PROCESSES

    def local_batches(epoch):  # this process' half of each global batch
        lo = jax.process_index() * per
        return [{k: v[lo : lo + per] for k, v in batch.items()} for batch in data]

    # the README's multi-host recipe
    optimizer = optax.adam(LEARNING_RATE)
    mesh = jaxrnn.make_mesh()
    step = jaxrnn.data_parallel_train_step(loss_fn, optimizer, mesh)
    state, history = jaxrnn.fit(
        loss_fn,
        params,
        local_batches,
        key=0,
        epochs=1,
        optimizer=optimizer,
        step_fn=step,
        checkpoint_dir=out / "checkpoints",
        quiet=True,
    )
    log(f"fit done: losses {history['loss']}")
    if jax.process_index() == 0:
        np.savez(out / "params.npz", *[np.asarray(leaf) for leaf in jax.tree.leaves(state.params)])
        (out / "history.json").write_text(json.dumps(history))
    jax.distributed.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_cluster(out: pathlib.Path, timeout: float = 120.0) -> None:
    env = dict(os.environ)
    env["JAX_PLATFORMS"] = "cpu"
    env.pop("XLA_FLAGS", None)  # one CPU device per process
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    port = _free_port()
    logs = [open(out / f"process{i}.log", "w+") for i in range(NUM_PROCESSES)]
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, str(i), str(port), str(out)],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for i, log in enumerate(logs)
    ]
    codes: list = []
    deadline = time.monotonic() + timeout  # for the whole cluster, not per process
    try:
        for p in procs:
            try:
                codes.append(p.wait(timeout=max(deadline - time.monotonic(), 0.1)))
            except subprocess.TimeoutExpired:
                codes.append(f"timed out after {timeout} s")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    if codes != [0] * NUM_PROCESSES:
        text = []
        for i, log in enumerate(logs):
            log.seek(0)
            text.append(f"--- process {i} (exit {codes[i]}):\n{log.read()[-4000:]}")
        raise AssertionError("the 2-process run failed:\n" + "\n".join(text))
    for log in logs:
        log.close()


def test_two_processes_train_like_one(tmp_path):
    import jax
    import optax

    from jaxrnn import checkpoint

    _run_cluster(tmp_path)
    # reference: two Adam steps by hand on the whole global batches, in this one process
    params, loss_fn = _model()
    opt = optax.adam(LEARNING_RATE)
    with jax.numpy_dtype_promotion("standard"):  # optax mixes int32 counts and floats
        opt_state = opt.init(params)
    losses = []
    for step, batch in enumerate(_data()):
        (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, batch, jax.random.fold_in(jax.random.key(0), step)
        )
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = opt.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
        losses.append(float(loss))
    history = json.loads((tmp_path / "history.json").read_text())
    got = np.load(tmp_path / "params.npz")
    want = [np.asarray(leaf) for leaf in jax.tree.leaves(params)]
    assert len(got.files) == len(want)
    # float32 rounding: the two processes sum their halves in another order than one process
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-5)
    for i, w in enumerate(want):
        np.testing.assert_allclose(got[f"arr_{i}"], w, rtol=1e-5, atol=1e-6)
    moved = max(
        float(np.max(np.abs(got[f"arr_{i}"] - w0))) for i, w0 in enumerate(jax.tree.leaves(_model()[0]))
    )
    assert moved > 1e-3  # the steps really changed the params (Adam moves each by ~lr)
    # the first process wrote the checkpoint of step 2
    assert checkpoint.checkpoint_step(checkpoint.latest_checkpoint(tmp_path / "checkpoints")) == 2


if __name__ == "__main__":
    _worker(int(sys.argv[1]), int(sys.argv[2]), pathlib.Path(sys.argv[3]))
