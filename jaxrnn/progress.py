"""A training loop's progress bar: steps, loss, throughput (sequences or tokens per second), ETA."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from typing import Any

import jax


def progress_bar(*args: Any, **kwargs: Any) -> Any:
    """A tqdm bar: a notebook widget in Jupyter when ipywidgets is installed, else a text bar.

    (``tqdm.auto`` alone warns "IProgress not found" in notebooks without ipywidgets.)
    """
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(*args, **kwargs)


def leading_dim(batch: Any) -> int:
    """The first dimension of the batch's first array leaf (the number of sequences), 1 without one."""
    leaves: list[Any] = jax.tree.leaves(batch)
    if not leaves or not getattr(leaves[0], "ndim", 0):
        return 1
    return int(leaves[0].shape[0])


class TrainingProgress:
    """A tqdm bar over steps whose postfix shows the loss, ``<units>/s`` and the time budget left.

    tqdm's own ETA covers the steps (once their total is known); with a time budget the bar
    also shows the minutes left, whichever ends the run first. The rate is measured over the
    steps since the last refresh (at most every ``refresh_s`` seconds), from the end of the
    first step, so compilation does not count.

    Args:
      total: the number of steps, or None when not yet known (see :meth:`set_total`).
      initial: the step a resumed run starts from.
      units: what ``batch_size_fn`` counts, shown as ``<units>/s`` (e.g. ``"seq"``, ``"tok"``).
      batch_size_fn: ``batch -> int``, the units in one batch (default :func:`leading_dim`).
      budget_s: the seconds left of a time budget, or None.
      disable: no bar (and no counting).
      clock: the seconds source.
    """

    def __init__(
        self,
        total: int | None,
        *,
        initial: int = 0,
        units: str = "seq",
        batch_size_fn: Callable[[Any], int] | None = None,
        budget_s: float | None = None,
        disable: bool = False,
        clock: Callable[[], float] = time.monotonic,
        refresh_s: float = 0.5,
    ):
        self.disable = disable
        self.units = units
        self.batch_size_fn = batch_size_fn or leading_dim
        self.clock = clock
        self.refresh_s = refresh_s
        self.deadline = None if budget_s is None else clock() + budget_s
        self.bar = progress_bar(
            total=total, initial=initial, disable=disable, unit="step", dynamic_ncols=True
        )
        self._mark = clock()
        self._count = 0
        self._rate: float | None = None
        self._first = True
        self.extra: dict[str, str] = {}  # fields kept on the bar until replaced (e.g. eval metrics)

    def set_total(self, total: int | None) -> None:
        """Set the number of steps once it is known (e.g. after the first epoch); None: unknown."""
        if not self.disable and total is not None and self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()

    def update(self, batch: Any, loss: float, **shown: Any) -> None:
        """Count one step on ``batch`` that ended with ``loss``; ``shown`` adds fields to the postfix."""
        if self.disable:
            return
        now = self.clock()
        self.bar.update(1)
        if self._first:
            # the first step includes compilation: the rate is measured from its end
            self._first = False
            self._mark = now
            postfix = {"loss": f"{loss:.4g}", **shown, **self.extra}
        else:
            self._count += int(self.batch_size_fn(batch))
            if now - self._mark < self.refresh_s and self._rate is not None:
                return
            self._rate = self._count / max(now - self._mark, 1e-9)
            self._mark, self._count = now, 0
            postfix = {"loss": f"{loss:.4g}", f"{self.units}/s": f"{self._rate:.4g}", **shown, **self.extra}
        if self.deadline is not None:
            postfix["budget"] = f"{max(self.deadline - now, 0.0) / 60:.1f} min"
        self.bar.set_postfix(postfix, refresh=False)

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()
