#!/bin/bash
# Session 9 call 3: hd128 on three consumer warpgroups (192-row tiles), A/B x the kept table, power probe.
#   carry [".kit", ".snap2", ".ab9"]; source .kit/unpack.sh .kit >/dev/null && bash .snap2/bench/results/2026-11-23_s9/call3.sh
set -u
AB=$PWD/.ab9
cd "${S:-.snap2}"
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu --format=csv | tee "$OUT/main.log"
W3N80="hd128:consumer_wgs=3,tile_n=80,double_p=0"
W3N80S3="hd128:consumer_wgs=3,tile_n=80,double_p=0,stages=3"
W3N64="hd128:consumer_wgs=3,tile_n=64,double_p=0"
for i in 1 2; do
  timeout 150 python3 -m bench.prefill_dense_ab --variant base=$AB/base --variant w3n80=$AB/w3n80 \
    --variant w3n80s3=$AB/w3n80s3 --variant w3n64=$AB/w3n64 \
    --env "w3n80:CUTE_ATTN_PREFILL_SET=$W3N80" --env "w3n80s3:CUTE_ATTN_PREFILL_SET=$W3N80S3" \
    --env "w3n64:CUTE_ATTN_PREFILL_SET=$W3N64" --rounds 5 --timing rounds \
    --cases 1x16384:128:full,1x16384:128:causal,4x4096:128:causal,16x1024:128:causal,ragged:128:causal \
    --json "$OUT/r/ab$i.json" > "$OUT/r/ab$i.log" 2>&1
  log "ab $i rc=$? $(el)"; tail -9 "$OUT/r/ab$i.log" >> "$OUT/main.log"
done
for b in base w3n80 w3n80s3; do
  set_=""; [ $b = w3n80 ] && set_=$W3N80; [ $b = w3n80s3 ] && set_=$W3N80S3
  CUTE_ATTN_PREFILL_SET=$set_ CUTE_ATTN_ARTIFACTS=$AB/$b timeout 60 python3 -m bench.power_probe --secs 4 \
    --cases 128:full,128:causal --json "$OUT/r/power_$b.json" > "$OUT/r/power_$b.log" 2>&1
  log "power $b rc=$? $(el)"; grep -E "^\| hd" "$OUT/r/power_$b.log" >> "$OUT/main.log"
done
tar -cJf "$OUT/call3.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
