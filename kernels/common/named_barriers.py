"""Named hardware barrier ids (``bar.sync id, count``); id 0 is ``__syncthreads``."""

import enum


class PrefillBarrier(enum.IntEnum):
    EPILOGUE = 1  # consumer warpgroups: registers -> sO -> global memory
    CONSUMER_WG0 = 2  # ping-pong: consumer warpgroup 0 may issue its GEMMs
    CONSUMER_WG1 = 3
    CONSUMER_WG2 = 4
    EPILOGUE_WG0 = 5  # one consumer warpgroup: its own rows registers -> sO -> global memory
    EPILOGUE_WG1 = 6
    EPILOGUE_WG2 = 7
