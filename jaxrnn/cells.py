"""Recurrent cells as values made of pure functions.

A cell is a :class:`Cell`: ``init`` makes a parameter pytree, ``zero_state``
makes a state pytree, and ``apply(params, state, x) -> (new_state, y)`` is one
time step, shaped exactly like a ``lax.scan`` body once ``params`` is bound.

Every cell splits its step in two so the unrollers can hoist the input
projection out of the time loop (the book's Figure 14-10 trick applied to
inputs): ``project(params, x)`` holds everything that depends on ``x`` only
(``x @ Wx + b``) and works on ``[..., features]`` of any leading shape, and
``step(params, state, projected)`` holds the recurrence. ``apply`` is
``step(params, state, project(params, x))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array
Params = Any
State = Any
Initializer = Callable[..., Array]


class Cell(NamedTuple):
    """A recurrent cell: data plus pure functions, no hidden state.

    Attributes:
      init: ``init(key, input_size, dtype=float32) -> params`` (a dict pytree).
      zero_state: ``zero_state(batch_size, dtype=float32) -> state``.
      project: ``project(params, x) -> projected``; ``x: [..., input_size]``.
        The part of a step that depends on the input only, run once for all
        time steps by the unrollers.
      step: ``step(params, state, projected, *, key=None, training=False,
        time_step=0) -> (new_state, output)``; the recurrence. ``key``,
        ``training`` and ``time_step`` are for stochastic wrappers (dropout);
        plain cells ignore them.
      output_size: size of the output ``y``, ``[batch, output_size]``.
      state_size: pytree of ints, one per state leaf ``[batch, size]``.
      input_size: ``input_size(params) -> int``, the feature size ``params``
        was made for (used to check inputs before tracing).
    """

    init: Callable[..., Params]
    zero_state: Callable[..., State]
    project: Callable[[Params, Array], Any]
    step: Callable[..., tuple[State, Array]]
    output_size: int
    state_size: Any
    input_size: Callable[[Params], int]

    def apply(
        self,
        params: Params,
        state: State,
        x: Array,
        *,
        key: Array | None = None,
        training: bool = False,
        time_step: Any = 0,
    ) -> tuple[State, Array]:
        """One time step: ``x: [batch, input_size]`` -> ``(new_state, [batch, output_size])``."""
        return self.step(
            params, state, self.project(params, x), key=key, training=training, time_step=time_step
        )


class Additive(NamedTuple):
    """Marks a step whose recurrence is one GEMM plus parameter-free elementwise gates.

    A step function ``step`` carrying ``step.additive = Additive(gates, hidden)``
    promises ``step(params, state, projected) == gates(projected + hidden(state) @
    params["Wh"], state)``; ``dynamic_unroll`` then runs it with a hand-written
    backward pass (:mod:`jaxrnn._fused_scan`). Wrappers that replace ``step``
    drop the mark, so they get the plain scan.

    Attributes:
      gates: ``gates(z, state) -> (new_state, y)``, ``z: [B, G*H]``; elementwise, no parameters.
      hidden: ``hidden(state) -> [B, H]``, the part of the state multiplied by ``Wh``.
      derivative_from_output: for a step ``h = activation(z)`` whose new state
        and output are both ``h`` (the basic cell), ``activation'(z)`` as a
        function of ``h``; the backward pass then keeps only the states. None otherwise.
    """

    gates: Callable[[Array, State], tuple[State, Array]]
    hidden: Callable[[State], Array]
    derivative_from_output: Callable[[Array], Array] | None = None


def _mark_additive(
    step: Callable, gates: Callable, hidden: Callable, derivative_from_output: Callable | None = None
) -> Callable:
    step.additive = Additive(gates, hidden, derivative_from_output)
    return step


# activations whose derivative is a function of their output, as JAX's own derivative rules compute it
_DERIVATIVE_FROM_OUTPUT: dict[Callable, Callable[[Array], Array]] = {
    jnp.tanh: lambda h: (1 + h) * (1 - h),
    jax.nn.sigmoid: lambda h: h * (1 - h),
    jax.nn.relu: lambda h: (h > 0).astype(h.dtype),
}


class LSTMState(NamedTuple):
    """LSTM state, in TF's ``LSTMStateTuple`` order: cell ``c`` then hidden ``h``."""

    c: Array
    h: Array


def _glorot_uniform() -> Initializer:
    return jax.nn.initializers.glorot_uniform()


def _orthogonal() -> Initializer:
    return jax.nn.initializers.orthogonal()


def _dense_params(
    key: Array,
    input_size: int,
    hidden_size: int,
    gates: int,
    dtype: Any,
    initializer: Initializer | None,
    recurrent_initializer: Initializer | None,
) -> dict[str, Array]:
    if not isinstance(input_size, int) or input_size <= 0:
        raise ValueError(f"input_size must be a positive int; got {input_size!r}")
    kx, kh = jax.random.split(key)
    init_x = initializer or _glorot_uniform()
    wh = _recurrent_weights(kh, hidden_size, hidden_size, gates, dtype, recurrent_initializer)
    return {
        "Wx": init_x(kx, (input_size, gates * hidden_size), dtype),
        "Wh": wh,
        "b": jnp.zeros((gates * hidden_size,), dtype),
    }


def _recurrent_weights(
    key: Array, rows: int, hidden_size: int, gates: int, dtype: Any, initializer: Initializer | None
) -> Array:
    # each gate's block gets its own (orthogonal by default) matrix, as Keras does
    init_h = initializer or _orthogonal()
    blocks = [init_h(k, (rows, hidden_size), dtype) for k in jax.random.split(key, gates)]
    return jnp.concatenate(blocks, axis=1)


def _matmul(x: Array, w: Array) -> Array:
    if x.ndim > 2:
        # XLA:CPU runs a rank-2 dot on its fast GEMM path but a rank-3 one 2-3x slower, so fold the
        # leading axes (time and batch for the hoisted projection) into one: [T*B, F] x [F, G*H]
        lead = x.shape[:-1]
        return (x.reshape(-1, x.shape[-1]) @ w.astype(x.dtype)).reshape(*lead, w.shape[-1])
    return x @ w.astype(x.dtype)


def _row(v: Array, like: Array) -> Array:
    """``v: [n]`` cast and reshaped to broadcast against ``like: [..., n]`` (no implicit rank promotion)."""
    return v.astype(like.dtype).reshape((1,) * (like.ndim - 1) + v.shape)


def _input_projection(params: Params, x: Array) -> Array:
    y = _matmul(x, params["Wx"])
    return y + _row(params["b"], y)


def _zero_state_fn(sizes: Any) -> Callable[..., State]:
    def zero_state(batch_size: int, dtype: Any = jnp.float32) -> State:
        """Zeros shaped like the state: each leaf ``[batch_size, size]``."""
        if not isinstance(batch_size, int) or batch_size < 0:
            raise ValueError(f"batch_size must be a non-negative int; got {batch_size!r}")
        return jax.tree.map(lambda n: jnp.zeros((batch_size, n), dtype), sizes)

    return zero_state


def _check_units(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int; got {value!r}")


def basic_cell(
    num_units: int,
    activation: Callable[[Array], Array] = jnp.tanh,
    *,
    initializer: Initializer | None = None,
    recurrent_initializer: Initializer | None = None,
) -> Cell:
    """A basic RNN cell (the book's Eq. 14-2; TF's ``BasicRNNCell``).

    ``h(t) = activation(x(t) @ Wx + h(t-1) @ Wh + b)``; the output is ``h(t)``.

    Args:
      num_units: H, the number of neurons.
      activation: elementwise nonlinearity; ``jnp.tanh`` (default) or
        ``jax.nn.relu`` as in the book's time-series model.
      initializer: for ``Wx``; default Glorot uniform. Pass
        ``jax.nn.initializers.he_normal()`` for He initialisation.
      recurrent_initializer: for ``Wh``; default orthogonal.

    Returns:
      A :class:`Cell` with params ``{"Wx": [F, H], "Wh": [H, H], "b": [H]}`` and
      state ``[batch, H]``.

    >>> cell = basic_cell(5)
    >>> params = cell.init(jax.random.key(0), 3)
    >>> state, y = cell.apply(params, cell.zero_state(4), jnp.ones((4, 3)))
    >>> y.shape
    (4, 5)
    """
    _check_units("num_units", num_units)

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        return _dense_params(key, input_size, num_units, 1, dtype, initializer, recurrent_initializer)

    def gates(z, state):
        h = activation(z)
        return h, h

    def step(params, state, projected, *, key=None, training=False, time_step=0):
        return gates(projected + _matmul(state, params["Wh"]), state)

    derivative = next((d for f, d in _DERIVATIVE_FROM_OUTPUT.items() if f is activation), None)
    _mark_additive(step, gates, lambda state: state, derivative)

    return Cell(
        init=init,
        zero_state=_zero_state_fn(num_units),
        project=_input_projection,
        step=step,
        output_size=num_units,
        state_size=num_units,
        input_size=lambda params: params["Wx"].shape[0],
    )


def lstm_cell(
    num_units: int,
    forget_bias: float = 1.0,
    use_peepholes: bool = False,
    cell_clip: float | None = None,
    num_proj: int | None = None,
    *,
    initializer: Initializer | None = None,
    recurrent_initializer: Initializer | None = None,
) -> Cell:
    """A long short-term memory cell (the book's Eq. 14-3; TF1 ``LSTMCell``).

    Gate order in ``Wx``, ``Wh`` and ``b`` is **i, f, g, o** (input gate, forget
    gate, candidate, output gate), each block ``num_units`` wide::

        i = sigmoid(x Wx_i + h Wh_i + b_i [+ peephole_i * c(t-1)])
        f = sigmoid(x Wx_f + h Wh_f + b_f + forget_bias [+ peephole_f * c(t-1)])
        g = tanh(x Wx_g + h Wh_g + b_g)
        c(t) = f * c(t-1) + i * g            (then clipped to +-cell_clip)
        o = sigmoid(x Wx_o + h Wh_o + b_o [+ peephole_o * c(t)])
        h(t) = o * tanh(c(t))                (then h(t) @ W_proj if num_proj)

    Args:
      num_units: H, the size of the cell state ``c``.
      forget_bias: added to the forget gate's pre-activation at every step,
        as TF1's ``BasicLSTMCell``/``LSTMCell`` do (so ``b`` starts at zero).
      use_peepholes: Gers & Schmidhuber (2000) peepholes: ``c(t-1)`` into the
        input and forget gates, ``c(t)`` into the output gate; params
        ``peephole_i``, ``peephole_f``, ``peephole_o`` of shape ``[H]``.
      cell_clip: if set, ``c(t)`` is clipped to ``[-cell_clip, cell_clip]``.
      num_proj: if set, P: ``h(t)`` is projected by ``W_proj: [H, P]``, and
        the output, the state's ``h`` and ``Wh``'s rows have size P.
      initializer: for ``Wx`` (and ``W_proj``); default Glorot uniform.
      recurrent_initializer: for ``Wh``; default orthogonal.

    Returns:
      A :class:`Cell` with params ``{"Wx": [F, 4H], "Wh": [P or H, 4H],
      "b": [4H], ...}`` and state :class:`LSTMState` ``(c: [B, H], h: [B, P or H])``.
    """
    _check_units("num_units", num_units)
    if num_proj is not None:
        _check_units("num_proj", num_proj)
    if cell_clip is not None and not cell_clip > 0:
        raise ValueError(f"cell_clip must be positive or None; got {cell_clip!r}")
    h_size = num_proj or num_units

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        k_dense, k_peep, k_proj = jax.random.split(key, 3)
        params = _dense_params(k_dense, input_size, num_units, 4, dtype, initializer, recurrent_initializer)
        if num_proj is not None:
            # Wh's rows follow the projected h
            params["Wh"] = _recurrent_weights(k_peep, num_proj, num_units, 4, dtype, recurrent_initializer)
            params["W_proj"] = (initializer or _glorot_uniform())(k_proj, (num_units, num_proj), dtype)
        if use_peepholes:
            for gate in "ifo":
                params[f"peephole_{gate}"] = jnp.zeros((num_units,), dtype)
        return params

    def gates(z, state):
        # the plain cell's elementwise part (no peepholes, no projection), shared by step and the fused scan
        c_prev, _ = state
        zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
        c = jax.nn.sigmoid(zf + forget_bias) * c_prev + jax.nn.sigmoid(zi) * jnp.tanh(zg)
        if cell_clip is not None:
            c = jnp.clip(c, -cell_clip, cell_clip)
        h = jax.nn.sigmoid(zo) * jnp.tanh(c)
        return LSTMState(c, h), h

    def step(params, state, projected, *, key=None, training=False, time_step=0):
        c_prev, h_prev = state
        z = projected + _matmul(h_prev, params["Wh"])
        if not (use_peepholes or num_proj is not None):
            return gates(z, state)
        zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
        if use_peepholes:
            zi = zi + _row(params["peephole_i"], c_prev) * c_prev
            zf = zf + _row(params["peephole_f"], c_prev) * c_prev
        c = jax.nn.sigmoid(zf + forget_bias) * c_prev + jax.nn.sigmoid(zi) * jnp.tanh(zg)
        if cell_clip is not None:
            c = jnp.clip(c, -cell_clip, cell_clip)
        if use_peepholes:
            zo = zo + _row(params["peephole_o"], c) * c
        h = jax.nn.sigmoid(zo) * jnp.tanh(c)
        if num_proj is not None:
            h = _matmul(h, params["W_proj"])
        return LSTMState(c, h), h

    if not (use_peepholes or num_proj is not None):
        _mark_additive(step, gates, hidden=lambda state: state[1])
    return Cell(
        init=init,
        zero_state=_zero_state_fn(LSTMState(num_units, h_size)),
        project=_input_projection,
        step=step,
        output_size=h_size,
        state_size=LSTMState(num_units, h_size),
        input_size=lambda params: params["Wx"].shape[0],
    )


def gru_cell(
    num_units: int,
    reset_after: bool = False,
    *,
    initializer: Initializer | None = None,
    recurrent_initializer: Initializer | None = None,
) -> Cell:
    """A gated recurrent unit (the book's Eq. 14-4; Cho et al. 2014, TF1 ``GRUCell``).

    Gate order in ``Wx``, ``Wh`` and ``b`` is **r, z, candidate**::

        r = sigmoid(x Wx_r + h Wh_r + b_r)
        z = sigmoid(x Wx_z + h Wh_z + b_z)
        g = tanh(x Wx_g + (r * h) Wh_g + b_g)              reset_after=False
        g = tanh(x Wx_g + b_g + r * (h Wh_g + bh_g))       reset_after=True
        h(t) = z * h(t-1) + (1 - z) * g

    ``reset_after=False`` (default) applies the reset gate to ``h(t-1)`` before
    the candidate's matmul, as in the paper and TF1. ``reset_after=True`` is
    the cuDNN/PyTorch/Keras variant, with a recurrent bias ``bh: [3H]``.

    Args:
      num_units: H.
      reset_after: which variant, see above.
      initializer: for ``Wx``; default Glorot uniform.
      recurrent_initializer: for ``Wh``; default orthogonal.

    Returns:
      A :class:`Cell` with params ``{"Wx": [F, 3H], "Wh": [H, 3H], "b": [3H]
      (, "bh": [3H])}`` and state ``[batch, H]``.
    """
    _check_units("num_units", num_units)

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        params = _dense_params(key, input_size, num_units, 3, dtype, initializer, recurrent_initializer)
        if reset_after:
            params["bh"] = jnp.zeros((3 * num_units,), dtype)
        return params

    def step(params, state, projected, *, key=None, training=False, time_step=0):
        h_prev = state
        wh = params["Wh"]
        xr, xz, xg = jnp.split(projected, 3, axis=-1)
        if reset_after:
            hh = _matmul(h_prev, wh)
            hh = hh + _row(params["bh"], hh)
            hr, hz, hg = jnp.split(hh, 3, axis=-1)
            r = jax.nn.sigmoid(xr + hr)
            z = jax.nn.sigmoid(xz + hz)
            g = jnp.tanh(xg + r * hg)
        else:
            hr, hz = jnp.split(_matmul(h_prev, wh[:, : 2 * num_units]), 2, axis=-1)
            r = jax.nn.sigmoid(xr + hr)
            z = jax.nn.sigmoid(xz + hz)
            g = jnp.tanh(xg + _matmul(r * h_prev, wh[:, 2 * num_units :]))
        h = z * h_prev + (1 - z) * g
        return h, h

    return Cell(
        init=init,
        zero_state=_zero_state_fn(num_units),
        project=_input_projection,
        step=step,
        output_size=num_units,
        state_size=num_units,
        input_size=lambda params: params["Wx"].shape[0],
    )
