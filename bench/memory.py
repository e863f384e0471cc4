"""Bandwidth of the memory-bound ops (append_paged_kv_cache, merge_state, merge_states) next to the
device copy bandwidth and a plain-torch implementation, measured in one process.

    python -m bench.memory [--json out.json]

GB/s counts the fewest bytes each op must move: every input element read once, every output written once.
"""

from __future__ import annotations

import argparse

import torch

import cute_attn

from .common import copy_bandwidth_gbs, device_info, markdown_table, time_ms, write_json


def torch_append(k_new, v_new, bi, pos, kc, vc, indices, indptr, page_size):
    page = indices[indptr[bi.long()].long() + (pos // page_size).long()].long()
    slot = (pos % page_size).long()
    kc[page, slot] = k_new
    vc[page, slot] = v_new


def torch_merge_states(v, s):
    m = s.max(dim=1, keepdim=True).values
    w = torch.exp(s - m)
    tot = w.sum(1)
    out = (w.unsqueeze(-1) * v.float()).sum(1) / tot.unsqueeze(-1)
    return out.to(v.dtype), torch.log(tot) + m.squeeze(1)


def bench_append(page_size: int, nnz: int = 65536, hk: int = 8, d: int = 128):
    dt = torch.bfloat16
    pages_per_req = 4096 // page_size if page_size <= 4096 else 1
    batch = nnz // 4096
    num_pages = batch * pages_per_req
    indices = torch.randperm(num_pages, device="cuda").to(torch.int32)
    indptr = torch.arange(0, num_pages + 1, pages_per_req, device="cuda", dtype=torch.int32)
    last = torch.full((batch,), page_size, dtype=torch.int32, device="cuda")
    kc = torch.zeros(num_pages, page_size, hk, d, dtype=dt, device="cuda")
    vc = torch.zeros_like(kc)
    k_new = torch.randn(nnz, hk, d, dtype=dt, device="cuda")
    v_new = torch.randn_like(k_new)
    bi = torch.arange(nnz, device="cuda", dtype=torch.int32) // 4096
    pos = torch.arange(nnz, device="cuda", dtype=torch.int32) % 4096
    nbytes = 4 * k_new.numel() * k_new.element_size() + 2 * nnz * 4
    ours = time_ms(lambda: cute_attn.append_paged_kv_cache(k_new, v_new, bi, pos, (kc, vc), indices, indptr, last))
    ref = time_ms(lambda: torch_append(k_new, v_new, bi, pos, kc, vc, indices, indptr, page_size))
    return {"op": f"append_paged_kv_cache page={page_size}", "shape": f"nnz={nnz} h={hk} d={d}",
            "MB": nbytes / 1e6, "cute_attn_us": ours * 1e3, "cute_attn_GBs": nbytes / ours / 1e6,
            "torch_us": ref * 1e3, "torch_GBs": nbytes / ref / 1e6}


def bench_merge_states(n: int, k: int, h: int = 32, d: int = 128):
    v = torch.randn(n, k, h, d, dtype=torch.bfloat16, device="cuda")
    s = torch.randn(n, k, h, device="cuda") * 3
    nbytes = v.numel() * 2 + s.numel() * 4 + n * h * d * 2 + n * h * 4
    ours = time_ms(lambda: cute_attn.merge_states(v, s))
    ref = time_ms(lambda: torch_merge_states(v, s))
    return {"op": f"merge_states k={k}", "shape": f"n={n} h={h} d={d}", "MB": nbytes / 1e6,
            "cute_attn_us": ours * 1e3, "cute_attn_GBs": nbytes / ours / 1e6,
            "torch_us": ref * 1e3, "torch_GBs": nbytes / ref / 1e6}


def bench_merge_state(n: int, h: int = 32, d: int = 128):
    va, vb = (torch.randn(n, h, d, dtype=torch.bfloat16, device="cuda") for _ in range(2))
    sa, sb = (torch.randn(n, h, device="cuda") * 3 for _ in range(2))
    nbytes = 3 * va.numel() * 2 + 3 * sa.numel() * 4
    ours = time_ms(lambda: cute_attn.merge_state(va, sa, vb, sb))
    ref = time_ms(lambda: torch_merge_states(torch.stack([va, vb], 1), torch.stack([sa, sb], 1)))
    return {"op": "merge_state", "shape": f"n={n} h={h} d={d}", "MB": nbytes / 1e6,
            "cute_attn_us": ours * 1e3, "cute_attn_GBs": nbytes / ours / 1e6,
            "torch_us": ref * 1e3, "torch_GBs": nbytes / ref / 1e6}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--json")
    args = p.parse_args(argv)
    info = device_info()
    copy = copy_bandwidth_gbs()
    rows = []
    cases = [lambda: bench_append(1), lambda: bench_append(16), lambda: bench_append(64),
             lambda: bench_merge_state(16384), lambda: bench_merge_states(8192, 2),
             lambda: bench_merge_states(8192, 4), lambda: bench_merge_states(2048, 16),
             lambda: bench_append(16, nnz=4096), lambda: bench_merge_states(64, 4)]
    for case in cases:
        try:
            r = case()
            r["pct_of_copy"] = 100 * r["cute_attn_GBs"] / copy
            rows.append(r)
        except Exception as e:  # keep going: one broken case must not hide the others
            rows.append({"op": "FAILED", "shape": repr(e)[:200]})
        print(rows[-1], flush=True)
    cols = ["op", "shape", "MB", "cute_attn_us", "cute_attn_GBs", "pct_of_copy", "torch_us", "torch_GBs"]
    print(f"\n{info['device']}, {info['date']}; device copy (read+write) {copy:.0f} GB/s\n")
    print(markdown_table(rows, cols))
    write_json(args.json, {"info": info, "copy_GBs": copy, "rows": rows})


if __name__ == "__main__":
    main()
