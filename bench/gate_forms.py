"""The LSTM gate math alone in each form of ``bench.step_profile.LSTM_GATE_FORMS`` (issue 21, levers b and c).

B64 T100 H256: a ``lax.scan`` whose step is only the gate math on ``z = [h, h, h, h] + x[:, :1] * b``
(no GEMM, as ``bench.step_profile``'s ``gates only``), forward and ``jax.grad`` (autodiff of the scan),
every form compiled in this one process and timed taking turns; each time over the library's form
(a sigmoid or tanh per gate block; ``four passes`` repeats it, a placebo), as the median over rounds
of the per-round ratio.

Run: ``python -m bench.gate_forms [--repeats 41]``.
"""

from __future__ import annotations

import argparse
import statistics

import jax
import jax.numpy as jnp
from jax import lax

import jaxrnn
from bench import step_profile, timing
from jaxrnn.cells import row

B, T, F, H = 64, 100, 64, 256


def main(argv: list[str] | None = None) -> None:
    """Time every form's forward and gradient, print ms and the paired ratio to the library's form."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=41)
    args = parser.parse_args(argv)
    forms = {"library": jaxrnn.lstm_cell(H).recurrence.combine}  # type: ignore[union-attr]
    forms.update({form: step_profile.lstm_gates(form) for form in step_profile.LSTM_GATE_FORMS})
    b = jax.random.normal(jax.random.key(1), (4 * H,))
    x = jax.random.normal(jax.random.key(0), (T, B, F))
    runs = {}
    for name, combine in forms.items():

        def forward(b, xs, combine=combine):
            def body(s, x_t):
                return combine(x_t[:, :1] * row(b, x_t), jnp.concatenate([s.h] * 4, axis=-1), s)

            return lax.scan(body, jaxrnn.lstm_cell(H).zero_state(B), xs)[1]

        def loss(b, xs, forward=forward):
            return jnp.mean(forward(b, xs) ** 2)

        for kind, fn in (("forward", forward), ("grad", jax.grad(loss))):
            compiled = jax.jit(fn).lower(b, x).compile()
            runs[(kind, name)] = lambda c=compiled: timing.block(c(b, x))
    times = timing.interleaved(runs, args.repeats)
    rows = []
    for kind, name in runs:
        base = times[(kind, "library")]
        ratio = statistics.median(a / c for a, c in zip(times[(kind, name)], base))
        rows.append([kind, name, timing.median_ms(times[(kind, name)]), ratio])
    timing.print_table(["pass", "form", "median ms", "/ library (paired)"], rows)


if __name__ == "__main__":
    main()
