"""Pipeline positions of one key block in the K and the V pipelines of the prefill kernels.

Producer and consumers advance K and V once per key block, so the two positions always hold the same count; their
stage indices and phases differ only where the two pipelines have different stage counts (``k_stages`` !=
``v_stages``). With equal counts one ``PipelineState`` serves both (``v`` is ``k``), so the kernel's IR is the one of
a single shared state; with different counts each pipeline wraps at its own count.
"""

from __future__ import annotations

import cutlass.pipeline as pipeline


class KVState:
    """``k``: the K pipeline's position of the block, ``v``: the V pipeline's (the same object where the stage counts
    agree). A DSL value (loop-carried like a ``PipelineState``): the values of ``k``, then those of the V state where it
    has its own."""

    def __init__(self, k: pipeline.PipelineState, v: pipeline.PipelineState | None = None):
        self.k = k
        self.v_own = v

    @staticmethod
    def make(user_type: pipeline.PipelineUserType, k_stages: int, v_stages: int) -> "KVState":
        k = pipeline.make_pipeline_state(user_type, k_stages)
        return KVState(k, None if v_stages == k_stages else pipeline.make_pipeline_state(user_type, v_stages))

    @property
    def v(self) -> pipeline.PipelineState:
        return self.k if self.v_own is None else self.v_own

    @property
    def count(self):
        """The block's count in both pipelines."""
        return self.k.count

    def clone(self) -> "KVState":
        return KVState(self.k.clone(), None if self.v_own is None else self.v_own.clone())

    def advance(self) -> None:
        self.k.advance()
        if self.v_own is not None:
            self.v_own.advance()

    def __extract_mlir_values__(self):
        values = self.k.__extract_mlir_values__()
        if self.v_own is not None:
            values = values + self.v_own.__extract_mlir_values__()
        return values

    def __new_from_mlir_values__(self, values) -> "KVState":
        n = len(self.k.__extract_mlir_values__())
        k = self.k.__new_from_mlir_values__(values[:n])
        return KVState(k, None if self.v_own is None else self.v_own.__new_from_mlir_values__(values[n:]))
