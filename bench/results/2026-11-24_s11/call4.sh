# Session 11 call 4: paged prefill page 64, box issue spread over producer warps (CUTE_ATTN_PAGED_BOX_WARPS).
# Carry [".kit", ".snaph", ".ab-s11"]; .snaph = session 10's snapshot (dense artifacts of the final kernels).
set -u
R=$PWD
cd .snaph && export PYTHONPATH=$PWD:${PYTHONPATH:-}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | tee $OUT/env.txt
for p in 1 2 3; do
  timeout 140 python3 -m bench.prefill_paged_ab --variant base=$R/.ab-s11/pbw0 --variant bw2=$R/.ab-s11/pbw2 \
      --pages 64 --rounds 9 --json $OUT/bw_p$p.json > $OUT/bw_p$p.log 2>&1
  echo "process $p rc=$?"
  grep -vE '^\{' $OUT/bw_p$p.log | tail -25
done
# page 1 (gathers): producer / consumer registers 56 / 224 instead of 40 / 232 (CUTE_ATTN_PAGED_GATHER_REGS)
for p in 1 2; do
  timeout 140 python3 -m bench.prefill_paged_ab --variant base=$R/.ab-s11/pg --variant r56=$R/.ab-s11/pg56_224 \
      --pages 1 --rounds 9 --json $OUT/regs_p$p.json > $OUT/regs_p$p.log 2>&1
  echo "regs process $p rc=$?"
  grep -vE '^\{' $OUT/regs_p$p.log | grep -E 'page|dense' | tail -8
done
