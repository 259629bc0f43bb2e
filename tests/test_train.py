"""The optax trainer: hand-chained reference loop, exact resume, NaN stop, clipping, schedules, time budgets,
restarts, the progress bar and run directories."""

from __future__ import annotations

import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrnn import checkpoint as ckpt
from jaxrnn import train

RNG = np.random.default_rng(0)
X = RNG.normal(size=(48, 3)).astype(np.float32)
Y = (X @ np.array([1.5, -2.0, 0.5], np.float32) + 0.3).astype(np.float32)


def loss_fn(params, batch, key):
    x, y = batch
    noise = 0.01 * jax.random.normal(key, (), jnp.float32)  # uses the key, so key handling is tested
    err = x @ params["w"] + params["b"] + noise - y
    loss = jnp.mean(err**2)
    return loss, {"mae": jnp.mean(jnp.abs(err))}


def batches(epoch):
    order = np.random.default_rng(epoch).permutation(len(X))
    for i in range(0, len(X), 12):
        idx = order[i : i + 12]
        yield X[idx], Y[idx]


def init():
    return {"w": jnp.zeros(3, jnp.float32), "b": jnp.zeros((), jnp.float32)}


def test_fit_matches_a_hand_chained_loop():
    opt = optax.adam(0.05)
    key = jax.random.key(3)
    state, history = train.fit(loss_fn, init(), batches, key=key, epochs=3, optimizer=opt, quiet=True)
    # reference: the same algorithm written out by hand, step by step, without the trainer
    with jax.numpy_dtype_promotion("standard"):
        opt_state = opt.init(init())
    params, losses, step = init(), [], 0
    for epoch in range(3):
        for batch in batches(epoch):
            (loss, _), g = jax.value_and_grad(loss_fn, has_aux=True)(
                params, batch, jax.random.fold_in(key, step)
            )
            with jax.numpy_dtype_promotion("standard"):  # optax's internals mix int counts and floats
                updates, opt_state = opt.update(g, opt_state, params)
                params = optax.apply_updates(params, updates)
            losses.append(float(loss))
            step += 1
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-6)
    np.testing.assert_allclose(state.params["w"], params["w"], rtol=1e-5)
    assert history["step"] == list(range(1, 13)) and int(state.step) == 12
    assert history["epoch"] == [1, 2, 3]
    np.testing.assert_allclose(history["train_loss"][0], np.mean(losses[:4]), rtol=1e-6)


def test_learns_and_evaluates():
    state, history = train.fit(
        loss_fn,
        init(),
        batches,
        key=jax.random.key(0),
        epochs=30,
        optimizer=train.make_optimizer(0.1),
        eval_fn=lambda p, b: {"mse": loss_fn(p, b, jax.random.key(0))[0]},
        eval_batches=lambda: batches(0),
        quiet=True,
    )
    assert history["eval_mse"][-1] < 0.01 < history["eval_mse"][0]
    np.testing.assert_allclose(state.params["w"], [1.5, -2.0, 0.5], atol=0.05)


def test_exact_resume_bit_for_bit(tmp_path):
    kw = dict(
        key=jax.random.key(1), epochs=4, optimizer=train.make_optimizer(0.05, clip_norm=1.0), quiet=True
    )
    full, full_hist = train.fit(loss_fn, init(), batches, **kw)
    # interrupted mid-epoch (step 6 of 16, in epoch 1), then resumed by a fresh call
    train.fit(loss_fn, init(), batches, checkpoint_dir=tmp_path, max_steps=6, **kw)
    assert ckpt.checkpoint_step(ckpt.latest_checkpoint(tmp_path)) == 6
    again, again_hist = train.fit(loss_fn, init(), batches, checkpoint_dir=tmp_path, max_steps=6, **kw)
    assert int(again.step) == 6 and len(again_hist["loss"]) == 6  # already there: no step taken
    resumed, hist = train.fit(
        loss_fn, {"w": jnp.ones(3), "b": jnp.ones(())}, batches, checkpoint_dir=tmp_path, **kw
    )
    assert hist["loss"] == full_hist["loss"]  # exact float equality
    assert hist["train_loss"] == full_hist["train_loss"]
    for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(full)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_checkpoint_every_and_final(tmp_path):
    train.fit(
        loss_fn,
        init(),
        batches,
        key=jax.random.key(0),
        epochs=2,
        checkpoint_dir=tmp_path,
        checkpoint_every=3,
        max_to_keep=None,
        quiet=True,
    )
    assert [ckpt.checkpoint_step(p) for p in ckpt.list_checkpoints(tmp_path)] == [3, 6, 8]


def test_checkpoint_minutes_saves_by_the_clock(tmp_path):
    now = [0.0]

    def slow_batches(epoch):  # every batch takes 25 s of the fake clock: a save every 3rd step
        for batch in batches(epoch):
            now[0] += 25.0
            yield batch

    train.fit(
        loss_fn,
        init(),
        slow_batches,
        key=jax.random.key(0),
        epochs=2,
        checkpoint_dir=tmp_path,
        checkpoint_minutes=1.0,
        max_to_keep=None,
        quiet=True,
        clock=lambda: now[0],
    )
    # 75 s >= 60 s after steps 3 and 6, then the final save at step 8
    assert [ckpt.checkpoint_step(p) for p in ckpt.list_checkpoints(tmp_path)] == [3, 6, 8]


def test_epochs_none_runs_until_max_steps_like_enough_epochs():
    kw = dict(key=jax.random.key(0), quiet=True)
    _, endless = train.fit(loss_fn, init(), batches, epochs=None, max_steps=10, **kw)
    _, bounded = train.fit(loss_fn, init(), batches, epochs=3, max_steps=10, **kw)  # 4 batches an epoch
    assert endless["step"] == list(range(1, 11)) and endless["loss"] == bounded["loss"]
    assert endless["epoch"] == bounded["epoch"] == [1, 2]


def test_nan_stops_with_step_and_keeps_last_good_checkpoint(tmp_path):
    def exploding(params, batch, key):
        loss, m = loss_fn(params, batch, key)
        return jnp.where(params["b"] > 5.0, jnp.nan, loss), m

    with pytest.raises(
        train.NonFiniteLossError, match=r"loss became nan at step (\d+).*last good checkpoint"
    ) as e:
        train.fit(
            exploding,
            init(),
            batches,
            key=jax.random.key(0),
            epochs=50,
            optimizer=optax.sgd(1.0),
            checkpoint_dir=tmp_path,
            checkpoint_every=1,
            quiet=True,
        )
    good = ckpt.latest_checkpoint(tmp_path)
    assert ckpt.checkpoint_step(good) == e.value.step - 1 == ckpt.checkpoint_step(e.value.last_checkpoint)


def test_huge_learning_rate_diverges_cleanly():
    with pytest.raises(train.NonFiniteLossError, match="loss became (nan|inf) at step"):
        train.fit(
            loss_fn, init(), batches, key=jax.random.key(0), epochs=200, optimizer=optax.sgd(1e6), quiet=True
        )


def test_clip_and_schedule_follow_optax_definitions():
    # clipping by global norm: one SGD step of size 1 with norm clipped to 0.1 moves params by exactly 0.1
    opt = train.make_optimizer(1.0, optimizer="sgd", clip_norm=0.1)
    step = train.make_train_step(loss_fn, opt)
    s0 = train.init_train_state(init(), opt)
    s1, _, _ = step(s0, next(batches(0)), jax.random.key(0))
    moved = np.sqrt(
        sum(
            float(jnp.sum((a - b) ** 2))
            for a, b in zip(jax.tree.leaves(s1.params), jax.tree.leaves(s0.params))
        )
    )
    np.testing.assert_allclose(moved, 0.1, rtol=1e-5)
    # a schedule: SGD with lr 0.5 for step 0 and 0 afterwards equals one plain step of lr 0.5
    sched = optax.piecewise_constant_schedule(0.5, {1: 0.0})
    key = jax.random.key(0)
    state, _ = train.fit(
        loss_fn,
        init(),
        batches,
        key=key,
        epochs=1,
        optimizer=train.make_optimizer(sched, optimizer="sgd"),
        quiet=True,
    )
    x, y = next(batches(0))
    grad_w = jax.grad(lambda p: loss_fn(p, (x, y), jax.random.fold_in(key, 0))[0])(init())["w"]
    np.testing.assert_allclose(state.params["w"], -0.5 * np.asarray(grad_w), rtol=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="optimizer must be one of .* got 'adamax'"):
        train.make_optimizer(optimizer="adamax")
    with pytest.raises(ValueError, match="learning_rate must be a positive number.*got -1"):
        train.make_optimizer(-1)
    with pytest.raises(ValueError, match="clip_norm must be a positive number or None; got 0"):
        train.make_optimizer(clip_norm=0)
    with pytest.raises(ValueError, match="epochs must be a non-negative int or None; got 1.5"):
        train.fit(loss_fn, init(), batches, key=jax.random.key(0), epochs=1.5, quiet=True)
    with pytest.raises(ValueError, match="eval_fn and eval_batches must be given together"):
        train.fit(
            loss_fn, init(), batches, key=jax.random.key(0), epochs=1, eval_fn=lambda p, b: {}, quiet=True
        )


def test_evaluate_weights_batches_by_size():
    batches = [(np.array([1.0, 2.0, 3.0]),), (np.array([10.0]),)]
    got = train.evaluate(lambda p, b: {"mean": np.mean(b[0])}, None, batches)
    np.testing.assert_allclose(got["mean"], (1 + 2 + 3 + 10) / 4)
    with pytest.raises(ValueError, match="evaluation batches must not be empty"):
        train.evaluate(lambda p, b: {}, None, [])


def test_weight_averaging_matches_a_float64_recurrence_and_is_what_evaluation_sees():
    # plain SGD on a least-squares loss, written out in float64 NumPy with its own EMA recurrence
    decay, lr, key = 0.3, 0.05, jax.random.key(5)
    seen = []

    def eval_fn(params, batch):
        seen.append(np.asarray(params["w"], np.float64))
        return {"mse": loss_fn(params, batch, key)[0]}

    state, _ = train.fit(
        loss_fn,
        init(),
        batches,
        key=key,
        epochs=2,
        optimizer=optax.sgd(lr),
        eval_fn=eval_fn,
        eval_batches=lambda: batches(0),
        ema_decay=decay,
        quiet=True,
    )
    w, b = np.zeros(3), 0.0
    ema_w, ema_b = w.copy(), b
    averages_after_epoch = []
    step = 0
    for epoch in range(2):
        for x, y in batches(epoch):
            x, y = x.astype(np.float64), y.astype(np.float64)
            noise = 0.01 * float(jax.random.normal(jax.random.fold_in(key, step), (), jnp.float32))
            err = x @ w + b + noise - y
            w, b = w - lr * 2 * x.T @ err / len(y), b - lr * 2 * np.mean(err)
            d = min(decay, (1 + step) / (10 + step))  # TF's ExponentialMovingAverage(num_updates=step)
            ema_w, ema_b = d * ema_w + (1 - d) * w, d * ema_b + (1 - d) * b
            step += 1
        averages_after_epoch.append(ema_w.copy())
    np.testing.assert_allclose(state.params["w"], w, rtol=1e-5)
    np.testing.assert_allclose(state.ema_params["w"], ema_w, rtol=1e-5)
    np.testing.assert_allclose(state.ema_params["b"], ema_b, rtol=1e-5)
    assert not np.allclose(ema_w, w, rtol=1e-3)  # the average really differs from the last iterate
    # evaluation after each epoch ran on the average, not on the raw params (4 eval batches per epoch)
    np.testing.assert_allclose(seen[3], averages_after_epoch[0], rtol=1e-5)
    np.testing.assert_allclose(seen[7], averages_after_epoch[1], rtol=1e-5)


def test_weight_averaging_resumes_bit_for_bit(tmp_path):
    kw = dict(
        key=jax.random.key(2), epochs=3, optimizer=train.make_optimizer(0.05), ema_decay=0.8, quiet=True
    )
    full, full_hist = train.fit(loss_fn, init(), batches, **kw)
    train.fit(loss_fn, init(), batches, checkpoint_dir=tmp_path, max_steps=5, **kw)
    resumed, hist = train.fit(loss_fn, init(), batches, checkpoint_dir=tmp_path, **kw)
    assert hist["loss"] == full_hist["loss"]
    for a, b in zip(jax.tree.leaves(resumed.ema_params), jax.tree.leaves(full.ema_params)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_checkpoints_from_before_weight_averaging_still_resume(tmp_path):
    # a checkpoint written with the three-field state of earlier versions
    opt = train.make_optimizer(0.05)
    old = train.init_train_state(init(), opt)
    tree = {
        "train_state": {"params": old.params, "opt_state": old.opt_state, "step": old.step},
        "key": jax.random.key_data(jax.random.key(0)),
        "epoch": 0,
        "offset": 0,
        "history": '{"history": {"step": [], "loss": [], "epoch": []}, "partial": {"sums": {}, "count": 0}}',
    }
    ckpt.save_checkpoint(tmp_path, 0, tree)
    state, hist = train.fit(
        loss_fn,
        init(),
        batches,
        key=jax.random.key(0),
        epochs=1,
        optimizer=opt,
        checkpoint_dir=tmp_path,
        quiet=True,
    )
    assert int(state.step) == 4 and state.ema_params is None


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, True, "0.9"])
def test_bad_ema_decay(bad):
    with pytest.raises(ValueError, match=f"ema_decay must be a number in \\(0, 1\\) or None; got {bad!r}"):
        train.fit(loss_fn, init(), batches, key=jax.random.key(0), epochs=1, ema_decay=bad, quiet=True)


def test_resuming_with_another_averaging_setting_is_a_clear_error(tmp_path):
    kw = dict(key=jax.random.key(0), epochs=1, checkpoint_dir=tmp_path, quiet=True)
    train.fit(loss_fn, init(), batches, ema_decay=0.9, max_steps=2, **kw)
    with pytest.raises(ValueError, match="written with weight averaging but ema_decay=None"):
        train.fit(loss_fn, init(), batches, **kw)


OPT = train.make_optimizer(0.05)


def _timed_step(seconds_per_step):
    """The trainer's jitted step on a fake clock: every step takes ``seconds_per_step`` seconds."""
    now = [0.0]
    jitted = jax.jit(train.make_train_step(loss_fn, OPT))

    def step(state, batch, key):
        now[0] += seconds_per_step
        return jitted(state, batch, key)

    return step, lambda: now[0]


def test_time_budget_is_the_total_over_resumes(tmp_path):
    step, clock = _timed_step(10.0)
    kw = dict(key=jax.random.key(0), epochs=5, checkpoint_dir=tmp_path, step_fn=step, clock=clock, quiet=True)
    kw["optimizer"] = OPT
    state, _ = train.fit(loss_fn, init(), batches, minutes=0.5, **kw)  # 30 s: 3 steps of 10 s
    assert int(state.step) == 3
    assert ckpt.restore_checkpoint(tmp_path)["elapsed"] == 30.0
    again, _ = train.fit(loss_fn, init(), batches, minutes=0.5, **kw)  # spent already: nothing to do
    assert int(again.step) == 3
    longer, hist = train.fit(loss_fn, init(), batches, minutes=1.0, **kw)  # 30 s more
    assert int(longer.step) == 6 and hist["step"] == [1, 2, 3, 4, 5, 6]
    assert hist["seconds"] == [40.0]  # the end of epoch 0 (step 4), counted over both runs
    # the same 6 steps without interruption or budget give the same params, bit for bit
    full, _ = train.fit(
        loss_fn, init(), batches, key=jax.random.key(0), epochs=5, max_steps=6, optimizer=OPT, quiet=True
    )
    for a, b in zip(jax.tree.leaves(longer.params), jax.tree.leaves(full.params)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_restart_starts_over_and_keeps_the_old_checkpoints(tmp_path):
    kw = dict(key=jax.random.key(0), epochs=2, checkpoint_dir=tmp_path, quiet=True)
    old, _ = train.fit(loss_fn, init(), batches, max_steps=7, optimizer=optax.sgd(0.01), **kw)
    state, hist = train.fit(loss_fn, init(), batches, max_steps=2, restart=True, **kw)
    assert int(state.step) == 2 and hist["step"] == [1, 2]
    assert ckpt.checkpoint_step(ckpt.latest_checkpoint(tmp_path)) == 2
    (replaced,) = tmp_path.glob("replaced-*")
    assert ckpt.checkpoint_step(ckpt.latest_checkpoint(replaced)) == 7  # moved, not deleted
    kept = ckpt.restore_checkpoint(replaced)["train_state"]["params"]["w"]
    assert kept.tobytes() == np.asarray(old.params["w"]).tobytes()
    # resume=False, the former spelling, is a restart too
    again, _ = train.fit(loss_fn, init(), batches, max_steps=2, resume=False, **kw)
    assert len(list(tmp_path.glob("replaced-*"))) == 2 and int(again.step) == 2
    # a fresh run of 2 steps, for reference
    fresh, _ = train.fit(loss_fn, init(), batches, key=jax.random.key(0), epochs=2, max_steps=2, quiet=True)
    assert np.asarray(state.params["w"]).tobytes() == np.asarray(fresh.params["w"]).tobytes()


def test_progress_bar_shows_loss_throughput_and_budget(capsys):
    step, clock = _timed_step(2.0)  # 12 sequences per 2 s step: 6 per second
    train.fit(loss_fn, init(), batches, key=jax.random.key(0), epochs=1, step_fn=step, clock=clock, minutes=1)
    err = capsys.readouterr().err
    assert "seq/s=6" in err and "loss=" in err and "4/4" in err and "budget=0.9 min" in err
    # tokens: the caller says what a batch counts (here 3 features per row)
    step, clock = _timed_step(2.0)
    train.fit(
        loss_fn,
        init(),
        batches,
        key=jax.random.key(0),
        epochs=1,
        step_fn=step,
        clock=clock,
        units="tok",
        batch_size_fn=lambda b: b[0].size,
    )
    assert "tok/s=18" in capsys.readouterr().err


def test_out_dir_gets_metrics_curves_and_config(tmp_path):
    from jaxrnn import runs

    kw = dict(key=jax.random.key(0), out_dir=tmp_path, quiet=True)
    config = {"learning_rate": 0.05, "epochs": 2}
    train.fit(loss_fn, init(), batches, epochs=2, config=config, **kw)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["stopped"] == "finished" and metrics["step"] == 8 and len(metrics["history"]["loss"]) == 8
    assert (tmp_path / "training_curves.png").stat().st_size > 0
    assert json.loads((tmp_path / "config.json").read_text()) == config
    # training longer is a resume; anything else is refused before any step, naming the field
    state, _ = train.fit(loss_fn, init(), batches, epochs=3, config={**config, "epochs": 3}, **kw)
    assert int(state.step) == 12
    with pytest.raises(
        runs.ConfigMismatchError, match=r"learning_rate: saved 0.05, requested 0.5.*--restart"
    ):
        train.fit(loss_fn, init(), batches, epochs=3, config={**config, "learning_rate": 0.5}, **kw)
    assert ckpt.checkpoint_step(ckpt.latest_checkpoint(tmp_path / "checkpoints")) == 12
    state, _ = train.fit(
        loss_fn, init(), batches, epochs=1, config={**config, "learning_rate": 0.5}, restart=True, **kw
    )
    assert int(state.step) == 4 and json.loads((tmp_path / "config.json").read_text())["learning_rate"] == 0.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(minutes=0), "minutes must be a positive number or None; got 0"),
        (dict(minutes=-1.0), "minutes must be a positive number or None; got -1.0"),
        (dict(max_steps=-1), "max_steps must be a non-negative int or None; got -1"),
        (dict(checkpoint_every=0), "checkpoint_every must be a positive int or None; got 0"),
        (dict(epochs=None), "epochs=None (no epoch limit) needs max_steps or minutes; got neither"),
        (dict(checkpoint_minutes=0), "checkpoint_minutes must be a positive number or None; got 0"),
        (dict(config={"a": 1}), "config is saved as out_dir/config.json: pass out_dir too"),
    ],
)
def test_bad_fit_arguments(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        train.fit(loss_fn, init(), batches, key=jax.random.key(0), **{"epochs": 1, "quiet": True, **kwargs})
