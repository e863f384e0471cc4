"""Named hardware barrier ids (``bar.sync id, count``); id 0 is ``__syncthreads``."""

import enum


class PrefillBarrier(enum.IntEnum):
    EPILOGUE = 1  # consumer warpgroups: registers -> sO -> global memory
    CONSUMER_WG0 = 2  # ping-pong: consumer warpgroup 0 may issue its GEMMs
    CONSUMER_WG1 = 3
    CONSUMER_WG2 = 4
