#!/bin/bash
# Session 20 call 6 (device): decode plan() / run() host times in three fresh processes (bench.decode_host, and
# bench.decode's own run() timing), after call 2 read run() at 18.0 us; bench.prefill_paged (issue 5) in a second
# process of this session (.snap20e; code unchanged since call 5).
#   carry [".kit", ".snap20e"]; source .kit/unpack.sh .kit >/dev/null && bash bench/results/2026-11-24_s20/call6.sh
set -u
R=$PWD; SNAP=.snap20e; source bench/call_env.sh
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
log "host: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in 1 2 3; do
    timeout 120 python3 -m bench.decode_host --device cuda --reps 2000 --rounds 4 --json "$OUT/r/host_$i.json" \
        > "$OUT/r/host_$i.log" 2>&1
    log "decode_host $i rc=$? $(el)"; grep -E "^(plan|run)" "$OUT/r/host_$i.log" | tee -a "$OUT/main.log"
    timeout 60 python3 -c "import bench.decode as B; print('bench.decode run() host us', round(B.run_host_time_us(), 2), 'plan() us', [round(x, 1) for x in B.plan_host_time_us()['compiled']])" \
        > "$OUT/r/run_$i.log" 2>&1
    log "bench.decode host $i rc=$? $(el)"; tail -2 "$OUT/r/run_$i.log" | tee -a "$OUT/main.log"
done
timeout 100 python3 -m bench.prefill_paged --rounds 9 --json "$OUT/r/paged.json" > "$OUT/r/paged.log" 2>&1
log "paged rc=$? $(el)"; grep -E "^\| (case|prefill|append)|Error" "$OUT/r/paged.log" | tee -a "$OUT/main.log"
nvidia-smi -q -d PERFORMANCE | grep -E "Thermal Slowdown" | grep " us" | tee -a "$OUT/main.log"
tar -cJf "$OUT/call6.tar.xz" -C "$OUT" r && rm -rf "$OUT/r"
log "total $(el)"
