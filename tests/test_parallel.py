"""Data parallelism, the pipelined layer-per-device stack and layer placement, on 8 forced CPU devices.

The multi-device checks run in ONE subprocess started with
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (the flag must be set
before JAX starts; the pytest process has one CPU device and may be an xdist
worker). The subprocess runs this file as a script, in float64 and strict
promotion, and reports each ``check_*`` function's outcome as JSON; the
results are cached in a file shared by the xdist workers so the subprocess
runs once per session. References are independent: NumPy float64 loops
(``numpy_reference``), central finite differences, per-shard gradients
averaged by hand, and the single-device step run side by side.
"""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
import subprocess
import sys
import traceback

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
NUM_DEVICES = 8

# ----------------------------------------------------------------------------------------------
# Checks run inside the 8-device subprocess (each raises AssertionError on failure).
# ----------------------------------------------------------------------------------------------


def _np_stack_step(steps, params):
    """A NumPy float64 deep-RNN step: layer l's output is layer l+1's input."""
    import numpy as np

    def step(state, x):
        new = []
        for fn, p, s in zip(steps, params, state):
            s, x = fn({k: np.asarray(v, np.float64) for k, v in p.items()}, s, x)
            new.append(s)
        return tuple(new), x

    return step


def _close(a, b, tol, what):
    import numpy as np

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    assert err <= tol, f"{what}: max abs error {err} > {tol}"


def check_pipeline_lstm_4_layers_matches_numpy_and_stack():
    import functools

    import jax
    import jax.numpy as jnp
    import numpy as np
    from cell_configs import random_params
    from numpy_reference import dynamic_rnn, lstm_step

    import jaxrnn

    cells = [jaxrnn.lstm_cell(5, use_peepholes=True)] * 4  # one cell value for all layers, as the book does
    stack = jaxrnn.stack_cells(cells)
    key = jax.random.key(0)
    params = tuple(
        random_params(c, jax.random.fold_in(key, i), 3 if i == 0 else 5) for i, c in enumerate(cells)
    )
    params = jax.tree.map(lambda a: a.astype(jnp.float64), params)  # float64 for finite differences
    x = jax.random.normal(jax.random.key(1), (6, 7, 3), jnp.float64)
    rng = np.random.default_rng(0)
    lengths = jnp.asarray(np.r_[0, 7, rng.integers(0, 8, size=4)], jnp.int32)
    mesh = jaxrnn.make_mesh(jax.devices()[:4], "layer")

    def loss(unroll, p):
        o, s = unroll(p)
        return jnp.sum(o * o) + sum(jnp.sum(jnp.sin(leaf)) for leaf in jax.tree.leaves(s)), (o, s)

    piped = lambda p: jaxrnn.pipelined_unroll(cells, p, x, mesh=mesh, sequence_length=lengths)
    plain = lambda p: jaxrnn.dynamic_unroll(stack, p, x, sequence_length=lengths)
    piped_grad = jax.jit(jax.value_and_grad(functools.partial(loss, piped), has_aux=True))
    # the compiled program really passes activations between devices
    assert "collective_permute" in piped_grad.lower(params).as_text()
    (_, (out, final)), g_pipe = piped_grad(params)

    np_step = _np_stack_step([functools.partial(lstm_step, use_peepholes=True)] * 4, params)
    zero = tuple((np.zeros((6, 5)), np.zeros((6, 5))) for _ in range(4))
    ref_out, ref_final = dynamic_rnn(np_step, zero, np.asarray(x), np.asarray(lengths))
    _close(out, ref_out, 1e-12, "outputs vs NumPy")
    for layer in range(4):
        _close(final[layer].c, ref_final[layer][0], 1e-12, f"final c[{layer}] vs NumPy")
        _close(final[layer].h, ref_final[layer][1], 1e-12, f"final h[{layer}] vs NumPy")

    # gradients: the plain stack (dynamic_unroll) and central finite differences
    g_plain = jax.jit(jax.grad(lambda p: loss(plain, p)[0]))(params)
    for (path, a), b in zip(jax.tree_util.tree_flatten_with_path(g_pipe)[0], jax.tree.leaves(g_plain)):
        _close(a, b, 1e-10, "grad" + jax.tree_util.keystr(path))
    assert float(jnp.abs(g_pipe[0]["Wx"]).max()) > 0, "no gradient reached the first layer's input weights"
    direction = jax.tree.map(lambda a: jax.random.normal(jax.random.key(3), a.shape, a.dtype), params)
    eps = 1e-5
    shift = lambda s: jax.tree.map(lambda p, d: p + s * d, params, direction)
    piped_loss = jax.jit(lambda p: loss(piped, p)[0])
    fd = (piped_loss(shift(eps)) - piped_loss(shift(-eps))) / (2 * eps)
    analytic = sum(jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(g_pipe), jax.tree.leaves(direction)))
    _close(analytic, fd, 1e-6 * max(1.0, abs(float(fd))), "directional derivative vs finite differences")


def check_pipeline_mixed_cells_reverse_time_major_initial_state():
    import functools

    import jax
    import jax.numpy as jnp
    import numpy as np
    from cell_configs import random_params, random_state
    from numpy_reference import basic_step, dynamic_rnn

    import jaxrnn

    # four basic cells of one size but different activations: each device runs its own layer's code
    cells = [jaxrnn.basic_cell(4, activation=a) for a in (jnp.tanh, jax.nn.relu, jnp.tanh, jax.nn.relu)]
    np_acts = [np.tanh, lambda v: np.maximum(v, 0.0), np.tanh, lambda v: np.maximum(v, 0.0)]
    params = tuple(random_params(c, jax.random.key(10 + i), 2 if i == 0 else 4) for i, c in enumerate(cells))
    init = tuple(random_state(c, jax.random.key(20 + i), 5) for i, c in enumerate(cells))
    init = jax.tree.map(lambda a: a.astype(jnp.float64), init)
    x = jax.random.normal(jax.random.key(2), (5, 6, 2), jnp.float64)
    lengths = jnp.array([6, 0, 3, 1, 5], jnp.int32)
    mesh = jaxrnn.make_mesh(jax.devices()[4:8], "layer")  # any 4 devices, not only the first ones
    out, final = jaxrnn.pipelined_unroll(
        cells,
        params,
        jnp.swapaxes(x, 0, 1),
        mesh=mesh,
        sequence_length=lengths,
        initial_state=init,
        time_major=True,
        reverse=True,
    )
    steps = [functools.partial(basic_step, activation=a) for a in np_acts]
    ref_out, ref_final = dynamic_rnn(
        _np_stack_step(steps, params),
        tuple(np.asarray(s) for s in init),
        np.asarray(x),
        np.asarray(lengths),
        reverse=True,
    )
    _close(jnp.swapaxes(out, 0, 1), ref_out, 1e-12, "outputs vs NumPy (reverse, time-major)")
    for layer in range(4):
        _close(final[layer], ref_final[layer], 1e-12, f"final state[{layer}] vs NumPy")


def _noisy(cell):
    """A stochastic test cell: adds noise drawn from ``fold_in(key, time_step)`` when training (like dropout)."""
    import jax

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        state, y = cell.apply(params, state, x)
        if training:
            y = y + jax.random.normal(jax.random.fold_in(key, time_step), y.shape, y.dtype)
        return state, y

    return cell._replace(apply=apply)  # the replaced apply no longer matches cell.recurrence: plain scan


def check_pipeline_gru_two_layers_with_key():
    import jax
    import jax.numpy as jnp

    import jaxrnn

    cells = [_noisy(jaxrnn.gru_cell(3))] * 2
    stack = jaxrnn.stack_cells(cells)
    params = stack.init(jax.random.key(5), 3, jnp.float64)  # F == H: layer 0's Wx keeps its shape
    x = jax.random.normal(jax.random.key(6), (4, 5, 3), jnp.float64)
    lengths = jnp.array([5, 2, 0, 4], jnp.int32)
    mesh = jaxrnn.make_mesh(jax.devices()[:2], "layer")
    key = jax.random.key(7)

    def loss(unroll, p):
        out, final = unroll(p)
        return jnp.sum(jnp.tanh(out)) + jnp.sum(final[0]), (out, final)

    piped = lambda p: jaxrnn.pipelined_unroll(
        cells, p, x, mesh=mesh, key=key, training=True, sequence_length=lengths
    )
    plain = lambda p: jaxrnn.dynamic_unroll(stack, p, x, key=key, training=True, sequence_length=lengths)
    (_, (out, final)), g1 = jax.jit(jax.value_and_grad(lambda p: loss(piped, p), has_aux=True))(params)
    (_, (ref_out, ref_final)), g2 = jax.jit(jax.value_and_grad(lambda p: loss(plain, p), has_aux=True))(
        params
    )
    # the noise makes a wrong per-layer key or time step visible
    _close(out, ref_out, 1e-12, "outputs vs stack (stochastic cells, keys per layer and time step)")
    for a, b in zip(final, ref_final):
        _close(a, b, 1e-12, "final state vs stack")
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2)):
        _close(a, b, 1e-10, "grad vs stack (F == H)")


def _regression_problem():
    import jax
    import jax.numpy as jnp

    import jaxrnn

    cell = jaxrnn.output_projection(jaxrnn.gru_cell(6), 1)
    params = cell.init(jax.random.key(0), 2, jnp.float64)
    x = jax.random.normal(jax.random.key(1), (16, 5, 2), jnp.float64)
    y = jnp.cumsum(x[..., :1], axis=1)
    lengths = jnp.array([5, 3, 1, 4] * 4, jnp.int32)

    def loss_fn(p, batch, key=None):
        out, _ = jaxrnn.dynamic_unroll(cell, p, batch["x"], sequence_length=batch["len"])
        err = out - batch["y"]
        if key is not None:  # a stochastic loss: the key must reach every device unchanged
            err = err * (1.0 + 0.1 * jax.random.normal(key, (), err.dtype))
        return jnp.mean(err * err)

    return params, {"x": x, "y": y, "len": lengths}, loss_fn


def _train_loss(loss_fn):
    """The trainer's loss signature ``(params, batch, key) -> (loss, metrics)``."""
    return lambda p, b, key: (loss_fn(p, b, key), {"half": 0.5 * loss_fn(p, b, key)})


def check_data_parallel_equals_single_device_adam():
    import jax
    import optax

    import jaxrnn

    params, batch, loss_fn = _regression_problem()
    opt = optax.adam(1e-2)
    mesh = jaxrnn.make_mesh()
    assert mesh.shape["data"] == NUM_DEVICES
    dp_step = jaxrnn.data_parallel_train_step(_train_loss(loss_fn), opt, mesh)

    @jax.jit
    def single_step(p, s, b, key):  # written out by hand, without the trainer
        loss, g = jax.value_and_grad(loss_fn)(p, b, key)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    with jax.numpy_dtype_promotion("standard"):
        p1, s1 = params, opt.init(params)
        state = jaxrnn.replicate(
            jaxrnn.TrainState(params, opt.init(params), jax.numpy.zeros((), "int32")), mesh
        )
    sharded = jaxrnn.shard_batch(batch, mesh)
    for leaf in jax.tree.leaves(sharded):
        shards = leaf.addressable_shards
        assert len(shards) == NUM_DEVICES and all(s.data.shape[0] == 16 // NUM_DEVICES for s in shards)
    for i in range(3):
        key = jax.random.key(100 + i)
        # optax's adam mixes a Python float with its int32 step count, which strict promotion refuses
        with jax.numpy_dtype_promotion("standard"):
            p1, s1, l1 = single_step(p1, s1, batch, key)
        state, l2, metrics = dp_step(state, sharded if i % 2 else batch, key)  # host arrays work too
        _close(l2, l1, 1e-12, f"loss at step {i}")
        _close(metrics["half"], 0.5 * l1, 1e-12, f"metrics at step {i}")
    assert int(state.step) == 3
    for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(p1)):
        _close(a, b, 1e-12, "params after 3 adam steps")
        assert a.sharding.is_fully_replicated and len(a.sharding.device_set) == NUM_DEVICES


def check_fit_with_the_data_parallel_step_equals_fit_without_it():
    import jax
    import numpy as np
    import optax

    import jaxrnn

    params, batch, loss_fn = _regression_problem()
    x = {k: np.concatenate([np.asarray(v)] * 2) for k, v in batch.items()}  # 32 rows, 2 batches of 16

    def batches(epoch):
        order = np.random.default_rng(epoch).permutation(32)
        return [{k: v[order[i : i + 16]] for k, v in x.items()} for i in (0, 16)]

    opt = optax.adam(1e-2)
    kw = dict(key=jax.random.key(7), epochs=2, optimizer=opt, ema_decay=0.5, quiet=True)
    mesh = jaxrnn.make_mesh()
    step = jaxrnn.data_parallel_train_step(_train_loss(loss_fn), opt, mesh, ema_decay=0.5)
    with jax.numpy_dtype_promotion("standard"):
        one, h1 = jaxrnn.fit(_train_loss(loss_fn), params, batches, **kw)
        dp, h2 = jaxrnn.fit(_train_loss(loss_fn), params, batches, step_fn=step, **kw)
    _close(h2["loss"], h1["loss"], 1e-12, "fit losses")
    _close(h2["train_half"], h1["train_half"], 1e-12, "fit per-epoch metrics")
    for a, b in zip(
        jax.tree.leaves((dp.params, dp.ema_params)), jax.tree.leaves((one.params, one.ema_params))
    ):
        _close(a, b, 1e-12, "params and their average after fit")
        assert a.sharding.is_fully_replicated and len(a.sharding.device_set) == NUM_DEVICES


def check_data_parallel_gradient_is_mean_of_per_device_gradients():
    import jax
    import numpy as np
    import optax

    import jaxrnn

    params, batch, loss_fn = _regression_problem()
    mesh = jaxrnn.make_mesh()
    step = jaxrnn.data_parallel_train_step(_train_loss(loss_fn), optax.sgd(1.0), mesh)  # update = -grad
    state = jaxrnn.TrainState(params, optax.sgd(1.0).init(params), jax.numpy.zeros((), "int32"))
    key = jax.random.key(3)
    new, _, _ = step(state, batch, key)
    dp_grad = jax.tree.map(lambda a, b: np.asarray(a) - np.asarray(b), params, new.params)
    # hand-chained: each device's gradient on its own 2 rows, then the average
    per = 16 // NUM_DEVICES
    grads = [
        jax.grad(loss_fn)(params, jax.tree.map(lambda a, d=d: a[d * per : (d + 1) * per], batch), key)
        for d in range(NUM_DEVICES)
    ]
    mean = jax.tree.map(lambda *g: np.mean(np.stack([np.asarray(a) for a in g]), axis=0), *grads)
    for a, b in zip(jax.tree.leaves(dp_grad), jax.tree.leaves(mean)):
        _close(a, b, 1e-12, "data-parallel grad vs mean of per-device grads")


def check_data_parallel_bad_inputs():
    import jax
    import optax
    import pytest

    import jaxrnn

    params, batch, loss_fn = _regression_problem()
    mesh = jaxrnn.make_mesh()
    step = jaxrnn.data_parallel_train_step(_train_loss(loss_fn), optax.sgd(0.1), mesh)
    bad = jax.tree.map(lambda a: a[:12], batch)
    state = jaxrnn.TrainState(params, optax.sgd(0.1).init(params), jax.numpy.zeros((), "int32"))
    with pytest.raises(
        ValueError, match=r"batch\['len'\] batch size must be divisible by .* \(8\); got batch size 12"
    ):
        step(state, bad, jax.random.key(0))
    with pytest.raises(ValueError, match=r"divisible by the number of devices .* \(8\); got batch size 12"):
        jaxrnn.shard_batch(bad, mesh)
    layer_mesh = jaxrnn.make_mesh(jax.devices()[:2], "layer")
    with pytest.raises(ValueError, match=r"mesh must have an axis named 'data'; got axes \('layer',\)"):
        jaxrnn.data_parallel_train_step(_train_loss(loss_fn), optax.sgd(0.1), layer_mesh)
    with pytest.raises(ValueError, match=r"mesh must have an axis named 'data'"):
        jaxrnn.shard_batch(batch, layer_mesh)


def check_pipeline_bad_inputs():
    import jax
    import jax.numpy as jnp
    import pytest

    import jaxrnn

    cells = [jaxrnn.gru_cell(3) for _ in range(4)]
    params = jaxrnn.stack_cells(cells).init(jax.random.key(0), 2, jnp.float64)
    x = jnp.ones((2, 3, 2), jnp.float64)
    two = jaxrnn.make_mesh(jax.devices()[:2], "layer")
    with pytest.raises(ValueError, match=r"4 layers; got 2 devices \(more layers than devices"):
        jaxrnn.pipelined_unroll(cells, params, x, mesh=two)
    eight = jaxrnn.make_mesh(jax.devices(), "layer")
    with pytest.raises(ValueError, match=r"one device per layer: 4 layers; got 8 devices$"):
        jaxrnn.pipelined_unroll(cells, params, x, mesh=eight)
    with pytest.raises(ValueError, match=r"mesh must have an axis named 'layer'; got axes \('data',\)"):
        jaxrnn.pipelined_unroll(cells, params, x, mesh=jaxrnn.make_mesh(jax.devices()[:4]))
    four = jaxrnn.make_mesh(jax.devices()[:4], "layer")
    mixed = cells[:3] + [jaxrnn.gru_cell(5)]
    with pytest.raises(ValueError, match=r"same output and state size .* cells\[3\] has output_size=5"):
        jaxrnn.pipelined_unroll(mixed, params, x, mesh=four)
    with pytest.raises(ValueError, match=r"inputs feature size must match params \(input_size=2\); got 3"):
        jaxrnn.pipelined_unroll(cells, params, jnp.ones((2, 3, 3), jnp.float64), mesh=four)
    with pytest.raises(
        ValueError, match=r"sequence_length must have shape \[batch\] = \(2,\); got shape \(3,\)"
    ):
        jaxrnn.pipelined_unroll(cells, params, x, mesh=four, sequence_length=jnp.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"params must be a tuple with one entry per layer \(4\)"):
        jaxrnn.pipelined_unroll(cells, params[:3], x, mesh=four)


def check_device_cell_places_each_layer():
    import jax
    import jax.numpy as jnp
    import numpy as np
    from numpy_reference import basic_step, dynamic_rnn

    import jaxrnn

    devices = jax.devices()[:3]
    cells = [jaxrnn.device_cell(jaxrnn.basic_cell(4), d) for d in devices]
    stack = jaxrnn.stack_cells(cells)
    params = stack.init(jax.random.key(0), 3, jnp.float64)
    for layer, d in enumerate(devices):
        assert all(leaf.devices() == {d} for leaf in jax.tree.leaves(params[layer])), (
            f"layer {layer} not on {d}"
        )
    x = jax.random.normal(jax.random.key(1), (2, 4, 3), jnp.float64)
    # op by op, as the book's graph runs: the top layer's output is computed on (and lives on) devices[2]
    outputs, final = jaxrnn.static_unroll(stack, params, [x[:, t] for t in range(4)])
    assert all(o.devices() == {devices[2]} for o in outputs)
    assert final[0].devices() == {devices[0]} and final[1].devices() == {devices[1]}
    ref_out, _ = dynamic_rnn(_np_stack_step([basic_step] * 3, params), (np.zeros((2, 4)),) * 3, np.asarray(x))
    _close(jnp.stack(outputs, axis=1), ref_out, 1e-12, "placed stack vs NumPy")
    moved = jaxrnn.place_params(params[0], devices[1])
    assert all(leaf.devices() == {devices[1]} for leaf in jax.tree.leaves(moved))


def _worker() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_rank_promotion", "raise")
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    assert len(jax.devices()) == NUM_DEVICES, jax.devices()
    results = {}
    for name, fn in sorted(globals().items()):
        if name.startswith("check_") and callable(fn):
            try:
                fn()
                results[name] = "ok"
            except BaseException:  # report every failure, keep running the other checks
                results[name] = traceback.format_exc()
    print("RESULTS " + json.dumps(results))


# ----------------------------------------------------------------------------------------------
# The pytest side.
# ----------------------------------------------------------------------------------------------


def _run_worker() -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={NUM_DEVICES}"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(HERE), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, __file__], env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULTS ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"8-device worker failed (rc={proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return json.loads(lines[-1][len("RESULTS ") :])


@pytest.fixture(scope="session")
def device_results(tmp_path_factory) -> dict:
    """The subprocess' results, computed once and shared by the xdist workers through a locked file."""
    base = tmp_path_factory.getbasetemp()
    # xdist workers get <session dir>/popen-gwN; a plain run gets the session dir itself
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = shared / "jaxrnn_parallel_results.json"
    with open(shared / "jaxrnn_parallel_results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cache.exists():
            cache.write_text(json.dumps(_run_worker()))
        return json.loads(cache.read_text())


CHECKS = sorted(name for name in dict(globals()) if name.startswith("check_"))


@pytest.mark.parametrize("check", CHECKS)
def test_on_8_devices(device_results, check):
    assert device_results.get(check) == "ok", device_results.get(check, f"{check} did not run")


# Single-device checks, in the pytest process.


def test_one_device_data_parallel_step_runs_and_meshes_are_checked():
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    import jaxrnn

    mesh = jaxrnn.make_mesh(jax.devices()[:1])
    loss_fn = lambda p, b, key: (jnp.mean((b["x"] @ p["w"] - b["y"]) ** 2), {})
    p = {"w": jnp.ones((3, 1))}
    b = {"x": jnp.arange(12.0).reshape(4, 3) / 10, "y": jnp.ones((4, 1))}
    step = jaxrnn.data_parallel_train_step(loss_fn, optax.sgd(0.1), mesh)
    state = jaxrnn.TrainState(p, optax.sgd(0.1).init(p), jnp.zeros((), jnp.int32))
    new, loss, _ = step(state, b, jax.random.key(0))
    # hand-derived gradient of the mean squared error: 2/N X^T (Xw - y)
    x, y, w = np.asarray(b["x"], np.float64), np.asarray(b["y"], np.float64), np.ones((3, 1))
    grad = 2 / 4 * x.T @ (x @ w - y)
    np.testing.assert_allclose(np.asarray(new.params["w"]), w - 0.1 * grad, rtol=1e-6)
    np.testing.assert_allclose(float(loss), np.mean((x @ w - y) ** 2), rtol=1e-6)
    assert int(new.step) == 1
    with pytest.raises(TypeError, match=r"mesh must be a jax.sharding.Mesh .*; got list"):
        jaxrnn.data_parallel_train_step(loss_fn, optax.sgd(0.1), jax.devices())
    with pytest.raises(TypeError, match=r"optimizer must be an optax GradientTransformation; got function"):
        jaxrnn.data_parallel_train_step(loss_fn, lambda g: g, mesh)
    with pytest.raises(ValueError, match=r"devices must be a non-empty sequence"):
        jaxrnn.make_mesh([])
    with pytest.raises(TypeError, match=r"device must be a jax.Device .*; got str"):
        jaxrnn.device_cell(jaxrnn.gru_cell(2), "/gpu:0")
    with pytest.raises(ValueError, match=r"4 layers; got 1 devices \(more layers than devices"):
        cells = [jaxrnn.gru_cell(2)] * 4
        params = jaxrnn.stack_cells(cells).init(jax.random.key(0), 2)
        jaxrnn.pipelined_unroll(cells, params, jnp.ones((1, 2, 2)), mesh=jaxrnn.make_mesh(axis_name="layer"))


if __name__ == "__main__":
    _worker()
