#!/bin/bash
# Session 28 call 2 (device), recorded after the fact: the command given to the device tool by hand, on call 1's
# snapshot .snap28a with bench/decode_start_probe.py replaced by the fixed one (torch.sum with a dim; commit bd3e32b).
#   carry [".kit", ".snap28a"]
source .kit/unpack.sh .kit >/dev/null && cd .snap28a && export PYTHONPATH=$PWD:$PYTHONPATH CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a && mkdir -p $OUT/r && timeout 150 python3 -m bench.decode_start_probe --pages 16 1 --rounds 10 --calls 60 --json $OUT/r/probe.json > $OUT/r/probe.txt 2>&1; echo rc=$?; tail -14 $OUT/r/probe.txt
