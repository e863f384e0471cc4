#!/usr/bin/env bash
# Audit s5: the GPU tests written on the CPU box in session 5 (never run on a GPU), then the whole GPU suite of the
# three areas they touch. Run on the device from a snapshot with every shipped variant built (python3 -m
# cute_attn.build), e.g. carry [".kit", ".snap-audit"]:
#   source .kit/unpack.sh .kit >/dev/null && cd .snap-audit && export PYTHONPATH=$PWD:$PYTHONPATH &&
#   bash bench/results/2026-11-23_s5-audit/next_call.sh
# Writes $OUT/audit_new.log, $OUT/audit_all.log (2 files). Expected: ~1-2 device-minutes.
set -u
OUT=${OUT:-/tmp/audit_out}
mkdir -p "$OUT"
export CUTE_ATTN_ARTIFACTS=${CUTE_ATTN_ARTIFACTS:-$PWD/build/artifacts/sm_90a}
NEW=(
  "tests/test_gpu_prefill.py::test_mqa_and_odd_group_ratios"
  "tests/test_gpu_prefill.py::test_long_other_head_dims"
  "tests/test_gpu_prefill.py::test_fp16_head_dims"
  "tests/test_gpu_prefill.py::test_q_longer_than_kv_causal"
  "tests/test_gpu_prefill.py::test_zero_length_requests"
  "tests/test_gpu_prefill.py::test_plan_makes_no_device_sync"
  "tests/test_gpu_prefill.py::test_one_token_with_odd_size_one_stride"
  "tests/test_gpu_prefill.py::test_ragged_batch_with_empty_members"
  "tests/test_gpu_prefill.py::test_lse_merges_split_keys_into_full_attention"
  "tests/test_gpu_prefill_paged.py::test_strided_q_out_and_padded_cache"
  "tests/test_gpu_prefill_paged.py::test_replan_one_wrapper_and_graph_replay_with_new_inputs"
  "tests/test_gpu_prefill_paged.py::test_plan_makes_no_device_sync"
  "tests/test_gpu_decode.py::test_graph_mode_own_index_buffer_replan_equals_eager"
  "tests/test_gpu_decode.py::test_workspace_buffer_holds_the_split_states"
  "tests/test_gpu_decode.py::test_empty_batch_and_requests_without_keys"
  "tests/test_gpu_decode.py::test_plan_makes_no_device_sync"
)
# the new tests first, each failure printed in full (-x off: every new test reports)
timeout 240 python3 -m pytest -m gpu "${NEW[@]}" -q -rs -p no:cacheprovider 2>&1 | tee "$OUT/audit_new.log" | tail -60
rc_new=${PIPESTATUS[0]}
# then the three areas' whole GPU suites (the host changes touch their run() paths)
timeout 300 python3 -m pytest -m gpu tests/test_gpu_prefill.py tests/test_gpu_prefill_paged.py tests/test_gpu_decode.py \
  -q -rs -p no:cacheprovider 2>&1 | tee "$OUT/audit_all.log" | tail -30
rc_all=${PIPESTATUS[0]}
echo "audit: new tests rc=$rc_new, area suites rc=$rc_all"
exit $(( rc_new || rc_all ))
