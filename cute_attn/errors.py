"""Exceptions raised by cute-attn beyond the ValueError/TypeError of input validation."""

BUILD_COMMAND = "python -m cute_attn.build --arch sm_90a"


class ArtifactError(RuntimeError):
    """A compiled kernel is missing or stale and cannot be compiled here."""


class DeviceError(RuntimeError):
    """A GPU op was called where no suitable GPU (Hopper, sm_90) is available."""
