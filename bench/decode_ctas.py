"""A/B of the decode plan's CTA count, one process: the shipped plan (``CTA_SLACK_DIV``: up to num_sms / 20
fewer CTAs when fewer sequences are cut) against every SM (``CTA_SLACK_DIV = 0``, numpy planner), with cuDNN
SDPA dense decode beside them, all timed side by side (``bench.common.compare``).

    python3 -m bench.decode_ctas [--json out.json] [--rounds 4]
"""

from __future__ import annotations

import argparse

import torch

import cute_attn
import cute_attn.decode as dec

from .common import compare, device_info, markdown_table, median, ratio, write_json
from .decode import CASES, DTYPE, HK, HQ, D, paged_inputs, sdpa_decode


def planned(indptr, indices, last, page_size, slack_div):
    saved_div, saved_planner = dec.CTA_SLACK_DIV, dec._PLANNER[:]
    if slack_div != saved_div:  # the compiled planner has the shipped constant: use the numpy one
        dec.CTA_SLACK_DIV = slack_div
        dec._PLANNER[:] = [None]
    try:
        w = cute_attn.BatchDecodeWithPagedKVCacheWrapper()
        w.plan(indptr, indices, last, HQ, HK, D, page_size)
    finally:
        dec.CTA_SLACK_DIV, dec._PLANNER[:] = saved_div, saved_planner
    return w


def main(argv=None):
    from torch.nn.attention import SDPBackend

    p = argparse.ArgumentParser()
    p.add_argument("--json")
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args(argv)
    rows = []
    for name, kv_lens in CASES:
        batch = len(kv_lens)
        kv_bytes = sum(kv_lens) * HK * D * 2 * 2
        q = torch.randn(batch, HQ, D, dtype=DTYPE, device="cuda")
        kd = torch.randn(batch, HK, max(kv_lens), D, dtype=DTYPE, device="cuda")
        vd = torch.randn_like(kd)
        q4 = q.unsqueeze(2)
        for ps in (16, 1):
            cache, indptr, indices, last = paged_inputs(kv_lens, ps)
            new = planned(indptr, indices, last, ps, dec.CTA_SLACK_DIV)
            old = planned(indptr, indices, last, ps, 0)
            (a, la), (b, lb) = new.run(q, cache, return_lse=True), old.run(q, cache, return_lse=True)
            err = (a.float() - b.float()).abs().max().item()
            n_diff = int((a != b).sum().item())
            lse_err = (la - lb).abs().max().item()
            fns = {"new": lambda: new.run(q, cache), "all_sms": lambda: old.run(q, cache),
                   "cudnn": lambda: sdpa_decode(q4, kd, vd, SDPBackend.CUDNN_ATTENTION)}
            per = compare(fns, rounds=args.rounds)
            row = {"case": name, "page_size": ps, "ctas new/all": f"{new._plan.work.num_ctas}/{old._plan.work.num_ctas}",
                   "splits new/all": f"{new._plan.work.num_splits}/{old._plan.work.num_splits}",
                   "max |new - all|": f"{err:.2e}", "elements differing": n_diff,
                   "max |lse new - all|": f"{lse_err:.2e}"}
            for k in fns:
                row[f"{k}_GBs"] = kv_bytes / median(per[k]) / 1e6
            row["new x all"] = f"{ratio(per, 'new', 'all_sms'):.3f}"
            row["new x cudnn"] = f"{ratio(per, 'new', 'cudnn'):.3f}"
            row["all x cudnn"] = f"{ratio(per, 'all_sms', 'cudnn'):.3f}"
            row["rounds_ms"] = per
            rows.append(row)
            print(row, flush=True)
            del cache
        del kd, vd
        torch.cuda.empty_cache()
    info = device_info()
    print(f"\n{info['device']}, {info['date']}; decode CTA-count A/B, {HQ}q/{HK}kv hd{D} bf16, GB/s of KV\n")
    print(markdown_table(rows, ["case", "page_size", "ctas new/all", "splits new/all", "new_GBs", "all_sms_GBs",
                                "cudnn_GBs", "new x all", "new x cudnn", "all x cudnn", "max |new - all|",
                                "elements differing", "max |lse new - all|"]))
    write_json(args.json, {"info": info, "rows": rows})


if __name__ == "__main__":
    main()
