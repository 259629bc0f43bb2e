"""Recurrent cells as values made of pure functions: the :class:`Cell` contract and the built-in cells."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn import checks

Array = jax.Array
Params = Any
State = Any
Initializer = Callable[..., Array]


class Recurrence(NamedTuple):
    """The fast structure of a step, declared as data: one input GEMM, one recurrent GEMM, elementwise rest.

    A cell whose ``apply`` computes::

        Wx, Wh, b = weights(params)
        xz = x @ Wx + b                        # [B, G]: depends on the input only
        hz = hidden(carry) @ Wh                # [B, G]: the recurrent product
        carry, y = combine(xz, hz, carry)      # elementwise, no parameters
        y = readout(params, x, y)              # optional, per step, no carry (a head, a skip)

    declares it with this value, and :func:`jaxrnn.dynamic_unroll` runs it on
    the fast path (:mod:`jaxrnn.fused`). Wrappers that leave the recurrence
    alone pass it through (composing ``readout``); others drop it.

    Attributes:
      weights: ``params -> (Wx [F, G], Wh [K, G], b [G])``.
      hidden: ``carry -> [B, K]``, the part of the carry multiplied by ``Wh``.
      combine: ``(xz, hz, carry) -> (carry, y)``, elementwise; ``xz`` and ``hz``
        are apart so a step that gates ``hz`` (a reset-after GRU) fits.
      additive: ``combine`` uses ``xz + hz`` only (the fast path serves only
        these: it may sum them in one ``[x, h] @ [Wx; Wh]`` GEMM, ``hz = 0``).
      derivative_from_output: for ``carry = y = activation(xz + hz)``,
        ``activation'`` as a function of ``y`` (the backward pass then keeps
        only the states); None otherwise.
      readout: ``(params, x [..., F], y [..., O']) -> [..., O]``, run on all
        steps at once after the loop; None for ``y`` itself.
      training: False when the description holds only with ``training=False``
        (a dropout wrapper: the identity at inference).
      apply: the ``Cell.apply`` this describes; the fast path is taken only
        while ``cell.apply is recurrence.apply`` (so ``cell._replace(apply=...)``
        falls back to the scan unless it re-attaches the recurrence).
      matmul_dtype: None, or the dtype both inputs of every GEMM are cast to
        (:func:`matmul`), in ``apply`` and the fast path alike.
    """

    weights: Callable[[Params], tuple[Array, Array, Array]]
    hidden: Callable[[State], Array]
    combine: Callable[[Array, Array, State], tuple[State, Array]]
    additive: bool = True
    derivative_from_output: Callable[[Array], Array] | None = None
    readout: Callable[[Params, Array, Array], Array] | None = None
    training: bool = True
    apply: Callable[..., Any] | None = None
    matmul_dtype: Any = None


class LayerStack(NamedTuple):
    """The fast structure of :func:`jaxrnn.stack_cells`: ``cells`` (bottom first) run in turn at each step.

    Each layer takes its own fast path. Params are one entry per layer;
    ``split``/``join``: the stack's carry to a tuple of layer carries and back;
    ``apply``: as in :class:`Recurrence`.
    """

    cells: tuple[Cell, ...]
    split: Callable[[State], tuple]
    join: Callable[[tuple], State]
    apply: Callable[..., Any] | None = None


class Cell(NamedTuple):
    """A recurrent cell, data plus pure functions: the ``lax.scan`` contract, written down once.

    Unrolling it means::

        params = cell.init(key, input_size, dtype)             # a pytree
        carry = cell.zero_state(batch, dtype)                  # a pytree, leaves [batch, *feature_shape]
        for t in range(time):
            carry, y[t] = cell.apply(params, carry, x[t], key=key, training=training, time_step=t)

    which is exactly ``lax.scan(lambda c, x: cell.apply(params, c, x), carry, xs)``
    with ``x[t]: [batch, input_size]`` and ``y[t]: [batch, output_size]``. The
    unrollers add the ``sequence_length`` mask (:mod:`jaxrnn.masking`): past
    each sequence's end the carry is frozen and ``y`` is zero.

    Attributes:
      init: ``init(key, input_size, dtype=float32) -> params``.
      zero_state: ``zero_state(batch, dtype=float32) -> carry``.
      apply: ``apply(params, carry, x, *, key=None, training=False, time_step=0)
        -> (carry, y)``; ``key``, ``training`` and ``time_step`` are for
        stochastic wrappers (dropout folds ``time_step`` into its masks);
        deterministic cells ignore them.
      output_size: O, the size of ``y``.
      state_size: a pytree like the carry whose leaves are the feature size
        (an int) or feature shape (a tuple, e.g. ``(H, W, C)`` for a
        convolutional carry ``[B, H, W, C]``) of each carry leaf.
      input_size: ``input_size(params) -> int``, the feature size ``params``
        were made for.
      recurrence: None, or the step's fast structure (:class:`Recurrence`,
        :class:`LayerStack`), read by :func:`jaxrnn.unroll_path`.
    """

    init: Callable[..., Params]
    zero_state: Callable[..., State]
    apply: Callable[..., tuple[State, Array]]
    output_size: int
    state_size: Any
    input_size: Callable[[Params], int]
    recurrence: Recurrence | LayerStack | None = None


class LSTMState(NamedTuple):
    """LSTM state, in TF's ``LSTMStateTuple`` order: cell ``c`` then hidden ``h``."""

    c: Array
    h: Array


def matmul(x: Array, w: Array, dtype: Any = None) -> Array:
    """``x [..., F] @ w [F, G] -> [..., G]`` in ``x``'s dtype, with leading axes folded into one.

    ``dtype``: None, or the dtype both inputs are cast to before the product
    (mixed precision: ``jnp.bfloat16``, accumulated in ``x``'s dtype).
    """
    if x.ndim > 2:
        # XLA:CPU runs a rank-2 dot on its fast GEMM path but a rank-3 one 2-3x slower
        lead = x.shape[:-1]
        return matmul(x.reshape(-1, x.shape[-1]), w, dtype).reshape(*lead, w.shape[-1])
    if dtype is None:
        return x @ w.astype(x.dtype)
    return jnp.dot(x.astype(dtype), w.astype(dtype), preferred_element_type=x.dtype)


def row(v: Array, like: Array) -> Array:
    """``v: [n]`` cast and reshaped to broadcast against ``like: [..., n]`` (no implicit rank promotion)."""
    return v.astype(like.dtype).reshape((1,) * (like.ndim - 1) + v.shape)


# activations whose derivative is a function of their output, as JAX's own derivative rules compute it
_DERIVATIVE_FROM_OUTPUT: dict[Callable, Callable[[Array], Array]] = {
    jnp.tanh: lambda h: (1 + h) * (1 - h),
    jax.nn.sigmoid: lambda h: h * (1 - h),
    jax.nn.relu: lambda h: (h > 0).astype(h.dtype),
}


def _dense_params(
    key: Array,
    input_size: int,
    hidden_size: int,
    gates: int,
    dtype: Any,
    initializer: Initializer | None,
    recurrent_initializer: Initializer | None,
) -> dict[str, Array]:
    checks.positive_int("input_size", input_size)
    kx, kh = jax.random.split(key)
    return {
        "Wx": (initializer or jax.nn.initializers.glorot_uniform())(
            kx, (input_size, gates * hidden_size), dtype
        ),
        "Wh": _recurrent_weights(kh, hidden_size, hidden_size, gates, dtype, recurrent_initializer),
        "b": jnp.zeros((gates * hidden_size,), dtype),
    }


def _recurrent_weights(
    key: Array, rows: int, hidden_size: int, gates: int, dtype: Any, initializer: Initializer | None
) -> Array:
    # each gate's block gets its own (orthogonal by default) matrix, as Keras does
    init_h = initializer or jax.nn.initializers.orthogonal()
    blocks = [init_h(k, (rows, hidden_size), dtype) for k in jax.random.split(key, gates)]
    return jnp.concatenate(blocks, axis=1)


def _weights(params: Params) -> tuple[Array, Array, Array]:
    return params["Wx"], params["Wh"], params["b"]


def _input_part(params: Params, x: Array, matmul_dtype: Any = None) -> Array:
    if checks.is_concrete(x):
        checks.check_step_input("x", x, params["Wx"].shape[0])
    xz = matmul(x, params["Wx"], matmul_dtype)
    return xz + row(params["b"], xz)


def _cell(init, sizes, output_size: int, recurrence: Recurrence | None, apply=None) -> Cell:
    """A dense cell; without ``apply``, the one its additive ``recurrence`` describes."""

    def zero_state(batch_size: int, dtype: Any = jnp.float32) -> State:
        checks.positive_int("batch_size", batch_size, minimum=0)
        return jax.tree.map(lambda n: jnp.zeros((batch_size, n), dtype), sizes)

    if apply is None:
        assert recurrence is not None
        mdt = recurrence.matmul_dtype

        def apply(params, carry, x, *, key=None, training=False, time_step=0):
            return recurrence.combine(
                _input_part(params, x, mdt), matmul(recurrence.hidden(carry), params["Wh"], mdt), carry
            )

    return Cell(
        init=init,
        zero_state=zero_state,
        apply=apply,
        output_size=output_size,
        state_size=sizes,
        input_size=lambda params: params["Wx"].shape[0],
        recurrence=None if recurrence is None else recurrence._replace(apply=apply),
    )


def basic_cell(
    num_units: int,
    activation: Callable[[Array], Array] = jnp.tanh,
    *,
    initializer: Initializer | None = None,
    recurrent_initializer: Initializer | None = None,
    matmul_dtype: Any = None,
) -> Cell:
    """A basic RNN cell (the book's Eq. 14-2; TF's ``BasicRNNCell``).

    ``h(t) = activation(x(t) @ Wx + h(t-1) @ Wh + b)``; the output is ``h(t)``.

    Args:
      num_units: H, the number of neurons.
      activation: elementwise nonlinearity, e.g. ``jnp.tanh`` or ``jax.nn.relu``.
      initializer: for ``Wx``; default Glorot uniform.
      recurrent_initializer: for ``Wh``; default orthogonal.
      matmul_dtype: None (everything in the params' dtype), or ``jnp.bfloat16``
        for mixed precision: every matmul's inputs are cast to it, the
        products, params, state and gate math stay in the params' dtype.

    Returns:
      A :class:`Cell` with params ``{"Wx": [F, H], "Wh": [H, H], "b": [H]}`` and
      state ``[batch, H]``.
    """
    checks.positive_int("num_units", num_units)
    matmul_dtype = checks.float_dtype("matmul_dtype", matmul_dtype)

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        return _dense_params(key, input_size, num_units, 1, dtype, initializer, recurrent_initializer)

    def combine(xz, hz, h_prev):
        h = activation(xz + hz)
        return h, h

    derivative = next((d for f, d in _DERIVATIVE_FROM_OUTPUT.items() if f is activation), None)
    recurrence = Recurrence(
        _weights, lambda h: h, combine, derivative_from_output=derivative, matmul_dtype=matmul_dtype
    )
    return _cell(init, num_units, num_units, recurrence)


def lstm_cell(
    num_units: int,
    forget_bias: float = 1.0,
    use_peepholes: bool = False,
    cell_clip: float | None = None,
    num_proj: int | None = None,
    *,
    initializer: Initializer | None = None,
    recurrent_initializer: Initializer | None = None,
    matmul_dtype: Any = None,
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
      forget_bias: added to the forget gate's pre-activation, as in TF1.
      use_peepholes: Gers & Schmidhuber (2000) peepholes, params
        ``peephole_i``, ``peephole_f``, ``peephole_o`` of shape ``[H]``.
      cell_clip: if set, ``c(t)`` is clipped to ``[-cell_clip, cell_clip]``.
      num_proj: if set, P: ``h(t)`` is projected by ``W_proj: [H, P]``, and
        the output, the state's ``h`` and ``Wh``'s rows have size P.
      initializer, recurrent_initializer, matmul_dtype: as in :func:`basic_cell`
        (``initializer`` also for ``W_proj``).

    Returns:
      A :class:`Cell` with params ``{"Wx": [F, 4H], "Wh": [P or H, 4H],
      "b": [4H], ...}`` and state :class:`LSTMState` ``(c: [B, H], h: [B, P or H])``.
      Without peepholes and projection it declares its :class:`Recurrence`.
    """
    checks.positive_int("num_units", num_units)
    if num_proj is not None:
        checks.positive_int("num_proj", num_proj)
    matmul_dtype = checks.float_dtype("matmul_dtype", matmul_dtype)
    if cell_clip is not None and not cell_clip > 0:
        raise ValueError(f"cell_clip must be positive or None; got {cell_clip!r}")
    h_size = num_proj or num_units
    plain = not (use_peepholes or num_proj is not None)

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        k_dense, k_peep, k_proj = jax.random.split(key, 3)
        params = _dense_params(k_dense, input_size, num_units, 4, dtype, initializer, recurrent_initializer)
        if num_proj is not None:
            # Wh's rows follow the projected h
            params["Wh"] = _recurrent_weights(k_peep, num_proj, num_units, 4, dtype, recurrent_initializer)
            params["W_proj"] = (initializer or jax.nn.initializers.glorot_uniform())(
                k_proj, (num_units, num_proj), dtype
            )
        if use_peepholes:
            for gate in "ifo":
                params[f"peephole_{gate}"] = jnp.zeros((num_units,), dtype)
        return params

    def equations(z, c_prev, peep=None):
        """The cell's equations on ``z = xz + hz``; ``peep``: the three peephole vectors or None."""
        zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
        if peep is not None:
            zi = zi + row(peep[0], c_prev) * c_prev
            zf = zf + row(peep[1], c_prev) * c_prev
        c = jax.nn.sigmoid(zf + forget_bias) * c_prev + jax.nn.sigmoid(zi) * jnp.tanh(zg)
        if cell_clip is not None:
            c = jnp.clip(c, -cell_clip, cell_clip)
        if peep is not None:
            zo = zo + row(peep[2], c) * c
        return c, jax.nn.sigmoid(zo) * jnp.tanh(c)

    def combine(xz, hz, state):
        c, h = equations(xz + hz, state.c)
        return LSTMState(c, h), h

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        z = _input_part(params, x, matmul_dtype) + matmul(state.h, params["Wh"], matmul_dtype)
        peep = tuple(params[f"peephole_{g}"] for g in "ifo") if use_peepholes else None
        c, h = equations(z, state.c, peep)
        if num_proj is not None:
            h = matmul(h, params["W_proj"], matmul_dtype)
        return LSTMState(c, h), h

    recurrence = (
        Recurrence(_weights, lambda state: state.h, combine, matmul_dtype=matmul_dtype) if plain else None
    )
    return _cell(init, LSTMState._make((num_units, h_size)), h_size, recurrence, None if plain else apply)


def gru_cell(
    num_units: int,
    reset_after: bool = False,
    *,
    initializer: Initializer | None = None,
    recurrent_initializer: Initializer | None = None,
    matmul_dtype: Any = None,
) -> Cell:
    """A gated recurrent unit (the book's Eq. 14-4; Cho et al. 2014, TF1 ``GRUCell``).

    Gate order in ``Wx``, ``Wh`` and ``b`` is **r, z, candidate**::

        r = sigmoid(x Wx_r + h Wh_r + b_r)
        z = sigmoid(x Wx_z + h Wh_z + b_z)
        g = tanh(x Wx_g + (r * h) Wh_g + b_g)              reset_after=False
        g = tanh(x Wx_g + b_g + r * (h Wh_g + bh_g))       reset_after=True
        h(t) = z * h(t-1) + (1 - z) * g

    Args:
      num_units: H.
      reset_after: False (the paper's and TF1's variant) or True (cuDNN's,
        PyTorch's, Keras's, with a recurrent bias ``bh: [3H]``).
      initializer, recurrent_initializer, matmul_dtype: as in :func:`basic_cell`.

    Returns:
      A :class:`Cell` with params ``{"Wx": [F, 3H], "Wh": [H, 3H], "b": [3H]
      (, "bh": [3H])}`` and state ``[batch, H]``.
    """
    checks.positive_int("num_units", num_units)
    matmul_dtype = checks.float_dtype("matmul_dtype", matmul_dtype)

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        params = _dense_params(key, input_size, num_units, 3, dtype, initializer, recurrent_initializer)
        if reset_after:
            params["bh"] = jnp.zeros((3 * num_units,), dtype)
        return params

    def apply(params, h_prev, x, *, key=None, training=False, time_step=0):
        wh = params["Wh"]
        xr, xz, xg = jnp.split(_input_part(params, x, matmul_dtype), 3, axis=-1)
        if reset_after:
            hh = matmul(h_prev, wh, matmul_dtype)
            hr, hz, hg = jnp.split(hh + row(params["bh"], hh), 3, axis=-1)
        else:
            hr, hz = jnp.split(matmul(h_prev, wh[:, : 2 * num_units], matmul_dtype), 2, axis=-1)
        r = jax.nn.sigmoid(xr + hr)
        z = jax.nn.sigmoid(xz + hz)
        g = jnp.tanh(
            xg + (r * hg if reset_after else matmul(r * h_prev, wh[:, 2 * num_units :], matmul_dtype))
        )
        h = z * h_prev + (1 - z) * g
        return h, h

    return _cell(init, num_units, num_units, None, apply)
