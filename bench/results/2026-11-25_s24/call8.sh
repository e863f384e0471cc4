#!/bin/bash
# Session 24 call 8 (device; run inline on .snap24f = the final kernels and planners, the mixed pass off): bench.decode
# eager, read flush, with extras (plan() / run() host time), one process.
#   carry [".kit", ".snap24f"]
#   source .kit/unpack.sh .kit >/dev/null && R=$PWD && SNAP=.snap24f && source $SNAP/bench/call_env.sh && timeout 200 python3 -m bench.decode --flush read --json $OUT/r/eager.json > $OUT/r/eager.log 2>&1; tail -40 $OUT/r/eager.log
