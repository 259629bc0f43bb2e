"""Weights in and out of other frameworks, and jaxrnn layers inside Flax models.

Each submodule is a few plain functions; none imports its framework at import
time (``to_torch`` imports torch lazily), so ``import jaxrnn.interop`` is cheap.
"""

from jaxrnn.interop.flax import NNXRNN, RNNLayer
from jaxrnn.interop.keras import from_keras, to_keras
from jaxrnn.interop.tf1 import from_tf1
from jaxrnn.interop.torch import from_torch, to_torch

__all__ = ["NNXRNN", "RNNLayer", "from_keras", "from_tf1", "from_torch", "to_keras", "to_torch"]
