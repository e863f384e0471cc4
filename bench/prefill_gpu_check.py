"""Standalone GPU check of the AOT-built prefill kernels: correctness against a float32 torch reference,
then TFLOP/s next to torch SDPA (cuDNN and FLASH_ATTENTION) in the same process.

    PYTHONUNBUFFERED=1 python bench/prefill_gpu_check.py --lib build/prefill_dev/prefill_dev.so [--quick]
        [--only bf16_hd128] [--no-bench] [--no-check]

Needs torch with CUDA and ``tvm_ffi`` (the runtime kit); no CuTe DSL. The library comes from
``bench/prefill_build_local.py`` (symbols listed in ``manifest.json`` beside it). Every case prints a line
before its launch and is wrapped in try/except, so a failure is reported and the run goes on; a hang
(deadlock) shows as the last "launch" line. Cases go from tiny to large.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback

import torch

sys.stdout.reconfigure(line_buffering=True)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from bench.common import compare as compare_side_by_side, median, ratio  # noqa: E402  (``compare`` here checks outputs)
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# tile_m of the kernel per (head_dim, head_dim_v); read from the kernel's config when the checkout is here
TILE_M = {(64, 64): 128, (128, 128): 128, (256, 256): 128, (192, 128): 128}
try:
    from kernels.common.config import prefill_tile

    TILE_M = {k: prefill_tile(*k, False)[0] for k in TILE_M}
except Exception as e:  # the table above is the fallback
    print(f"(config import failed: {e!r}; using built-in tile table {TILE_M})")


def log(*a):
    print(*a, flush=True)


def variant_name(dtype: str, hd: int, hdv: int, causal: bool, tag: str = "") -> str:
    name = f"prefill_{dtype}_hd{hd}_hdv{hdv}_{'causal' if causal else 'nocausal'}"
    return f"{name}__{tag}" if tag else name


# tile_m per symbol from manifest.json (A/B builds may change it); filled in main()
SYMBOL_TILE_M: dict = {}


# ---------------------------------------------------------------------------------------- host plan


WORK_ORDER = "cost"  # --order


def make_work(q_lens, kv_lens, h_q, tile_m, causal):
    """Rows (batch, m_block, q_head, 0). ``cost`` (the rule of cute_attn.prefill): heaviest tiles first, the
    heads of one (batch, m_block) together. ``l2`` (experiment): grouped by (batch, head), its m-blocks
    heaviest first, heaviest requests first, so the CTAs running at one time share few heads' K/V (L2)."""
    items = []
    for b, (ql, kl) in enumerate(zip(q_lens, kv_lens)):
        for m in range((ql + tile_m - 1) // tile_m):
            cost = kl
            if causal:
                cost = max(0, min(kl, min((m + 1) * tile_m, ql) + kl - ql))
            items.append((cost + 1, b, m))
    items.sort(key=lambda t: -t[0])
    if WORK_ORDER == "l2":
        total = {}
        for c, b, m in items:
            total[b] = total.get(b, 0) + c
        rows = [(b, m, h, 0) for b in sorted(total, key=lambda x: -total[x]) for h in range(h_q)
                for _, bb, m in items if bb == b]
    else:
        rows = [(b, m, h, 0) for _, b, m in items for h in range(h_q)]
    return torch.tensor(rows, dtype=torch.int32).reshape(-1, 4)


class Runner:
    def __init__(self, lib_path):
        import tvm_ffi

        self.mod = tvm_ffi.load_module(lib_path)
        self.num_sms = torch.cuda.get_device_properties(0).multi_processor_count
        self.fns = {}

    def fn(self, name):
        if name not in self.fns:
            self.fns[name] = self.mod[name]
        return self.fns[name]

    def plan(self, q_lens, kv_lens, h_q, hd, hdv, causal, name=None):
        tile_m = SYMBOL_TILE_M.get(name, TILE_M[(hd, hdv)])
        if WORK_ORDER == "pkg":
            # the package's schedule (cute_attn.prefill.make_work_list: L2-sized sections, heaviest first)
            from cute_attn.prefill import make_work_list

            elem = 2  # bf16 / fp16
            kw = {}
            if os.environ.get("PKG_SECTION_MB"):  # section size A/B (default: the package's)
                kw["section_bytes"] = int(float(os.environ["PKG_SECTION_MB"]) * (1 << 20))
            work = make_work_list(list(q_lens), list(kv_lens), h_q, tile_m, causal, h_q, (hd + hdv) * elem, **kw)
        else:
            work = make_work(q_lens, kv_lens, h_q, tile_m, causal)
        cu_q = torch.tensor([0] + list(torch.tensor(q_lens).cumsum(0).tolist()), dtype=torch.int32)
        cu_k = torch.tensor([0] + list(torch.tensor(kv_lens).cumsum(0).tolist()), dtype=torch.int32)
        num_ctas = min(work.shape[0], self.num_sms)
        return cu_q.cuda(), cu_k.cuda(), work.cuda(), num_ctas

    def run(self, name, q, k, v, o, lse, plan, scale):
        cu_q, cu_k, work, num_ctas = plan
        if work.shape[0] == 0:
            return
        self.fn(name)(q, k, v, o, lse, cu_q, cu_k, work, num_ctas, float(scale))


# ---------------------------------------------------------------------------------------- reference


def reference(q, k, v, q_lens, kv_lens, causal, scale):
    """float32 reference: O (total_q, h_q, dv) and natural-log LSE (h_q, total_q); rows that see no key
    get O = 0 and LSE = -inf."""
    h_q, h_k = q.shape[1], k.shape[1]
    g = h_q // h_k
    o = torch.zeros(q.shape[0], h_q, v.shape[2], dtype=torch.float32, device=q.device)
    lse = torch.full((h_q, q.shape[0]), -math.inf, dtype=torch.float32, device=q.device)
    oq = ok = 0
    for ql, kl in zip(q_lens, kv_lens):
        if ql and kl:
            for h in range(h_q):
                qs = q[oq:oq + ql, h].float()
                ks = k[ok:ok + kl, h // g].float()
                vs = v[ok:ok + kl, h // g].float()
                s = (qs @ ks.t()) * scale
                if causal:
                    i = torch.arange(ql, device=q.device)[:, None]
                    j = torch.arange(kl, device=q.device)[None, :]
                    s = s.masked_fill(j > i + kl - ql, -math.inf)
                l_ = torch.logsumexp(s, dim=1)
                p = torch.exp(s - l_[:, None])
                p = torch.nan_to_num(p, nan=0.0)
                o[oq:oq + ql, h] = p @ vs
                lse[h, oq:oq + ql] = l_
        oq += ql
        ok += kl
    return o, lse


def compare(o, lse, o_ref, lse_ref, dtype):
    bad_o = (~torch.isfinite(o.float())).sum().item()
    of, orf = o.float(), o_ref
    err = (of - orf).abs()
    max_err = err.max().item() if err.numel() else 0.0
    rel = ((of - orf).norm() / orf.norm().clamp_min(1e-12)).item() if err.numel() else 0.0
    # the error of rounding the exact result to the output dtype: the floor for any kernel
    round_err = (orf.to(dtype).float() - orf).abs().max().item() if err.numel() else 0.0
    fin = torch.isfinite(lse_ref)
    lse_nan = torch.isnan(lse).sum().item()
    lse_inf_mismatch = (torch.isinf(lse) != ~fin).sum().item()
    lse_err = (lse[fin] - lse_ref[fin]).abs().max().item() if fin.any() else 0.0
    ok = (bad_o == 0 and lse_nan == 0 and lse_inf_mismatch == 0 and max_err <= 4 * round_err + 2e-3
          and rel < 1e-2 and lse_err < 1e-2)
    return ok, (f"max_err={max_err:.3e} (rounding floor {round_err:.1e}) rel={rel:.2e} lse_err={lse_err:.2e} "
                f"nonfinite_o={bad_o} lse_nan={lse_nan} lse_inf_mismatch={lse_inf_mismatch}")


# ---------------------------------------------------------------------------------------- cases


def check_case(runner, dtype_name, hd, hdv, causal, tag, q_lens, kv_lens, h_q, h_k, label, packed=False, seed=0):
    name = variant_name(dtype_name, hd, hdv, causal, tag)
    dtype = DTYPES[dtype_name]
    torch.manual_seed(seed)
    tq, tk = sum(q_lens), sum(kv_lens)
    if packed:  # q, k, v as strided slices of one (tokens, heads, dim) buffer: runtime strides
        assert hd == hdv and tq == tk
        qkv = torch.randn(tq, h_q + 2 * h_k, hd, dtype=dtype, device="cuda")
        q, k, v = qkv[:, :h_q], qkv[:, h_q:h_q + h_k], qkv[:, h_q + h_k:]
    else:
        q = torch.randn(tq, h_q, hd, dtype=dtype, device="cuda")
        k = torch.randn(tk, h_k, hd, dtype=dtype, device="cuda")
        v = torch.randn(tk, h_k, hdv, dtype=dtype, device="cuda")
    o = torch.full((tq, h_q, hdv), float("nan"), dtype=dtype, device="cuda")
    lse = torch.full((h_q, tq), float("nan"), dtype=torch.float32, device="cuda")
    scale = 1.0 / math.sqrt(hd)
    plan = runner.plan(q_lens, kv_lens, h_q, hd, hdv, causal, name)
    desc = (f"{name} {label}: q_lens={q_lens if len(q_lens) < 8 else str(q_lens[:8]) + '...'} "
            f"kv_lens={kv_lens if len(kv_lens) < 8 else str(kv_lens[:8]) + '...'} h={h_q}/{h_k} "
            f"work={plan[2].shape[0]} ctas={plan[3]}")
    log(f"launch {desc}")
    t0 = time.time()
    runner.run(name, q, k, v, o, lse, plan, scale)
    torch.cuda.synchronize()
    o_ref, lse_ref = reference(q, k, v, q_lens, kv_lens, causal, scale)
    ok, msg = compare(o, lse, o_ref, lse_ref, dtype)
    log(f"  {'PASS' if ok else 'FAIL'} {msg} ({time.time() - t0:.2f} s)")
    return ok


def correctness(runner, variants, quick):
    results = []

    def run(*a, **kw):
        try:
            results.append((a, check_case(runner, *a, **kw)))
        except Exception:
            log("  ERROR\n" + traceback.format_exc())
            results.append((a, False))

    # 1. tiny first (a deadlock shows here)
    for dtype, hd, hdv, causal, tag in variants:
        run(dtype, hd, hdv, causal, tag, [1], [1], 1, 1, "tiny")
    # 2. one request, odd lengths, q_len == kv_len
    lens = [1, 17, 113, 1023] if quick else [1, 17, 113, 1023, 4097]
    for dtype, hd, hdv, causal, tag in variants:
        for n in lens:
            run(dtype, hd, hdv, causal, tag, [n], [n], 2, 2, "single")
    # 3. ragged batch: an empty request, kv_len == 0 with q_len > 0 (O = 0, LSE = -inf), q_len < kv_len,
    #    q_len > kv_len (causal: early rows see nothing), GQA 4
    q_lens = [17, 0, 113, 1, 300, 5, 129, 64]
    kv_lens = [17, 40, 300, 1000, 100, 0, 129, 0]
    for dtype, hd, hdv, causal, tag in variants:
        run(dtype, hd, hdv, causal, tag, q_lens, kv_lens, 8, 2, "ragged")
    # 4. GQA ratios 1/4/8, causal with q_len < kv_len
    for dtype, hd, hdv, causal, tag in variants:
        for h_k in (8, 2, 1):
            run(dtype, hd, hdv, causal, tag, [200, 77], [450, 300], 8, h_k, f"gqa{8 // h_k}")
    # 5. q/k/v as strided slices of one packed buffer
    for dtype, hd, hdv, causal, tag in variants:
        if hd == hdv:
            run(dtype, hd, hdv, causal, tag, [300, 33], [300, 33], 4, 2, "packed-qkv", packed=True)
    # 6. many tiles per CTA (persistent loop, pipeline state across tiles)
    if not quick:
        for dtype, hd, hdv, causal, tag in variants:
            run(dtype, hd, hdv, causal, tag, [2048] * 3 + [1, 500], [2048] * 3 + [3000, 500], 16, 4, "persistent")
    n_ok = sum(ok for _, ok in results)
    log(f"\ncorrectness: {n_ok}/{len(results)} passed")
    for a, ok in results:
        if not ok:
            log(f"  failed: {a[:5]} {a[-1] if isinstance(a[-1], str) else ''}")
    return n_ok == len(results)


# ---------------------------------------------------------------------------------------- benchmark


ROUNDS = 5
REF_TAG = ""  # --ref-tag
PEERS = ("cuDNN", "FA2")  # --peers


def visible_pairs(q_len, kv_len, causal):
    if not causal:
        return q_len * kv_len
    off = kv_len - q_len
    return sum(max(0, min(kv_len, i + off + 1)) for i in range(q_len))


def bench(runner, dtype_name, hds, seqlen, tags=("",), batch=1, causal_only=False, baselines=True):
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    dtype = DTYPES[dtype_name]
    cols = "".join(f"{('ours' + ('/' + t if t else '')):>14}" for t in tags)
    log(f"\n{'case':<22}{cols}{'cuDNN':>10}{'FA2':>10}{'best/cuDNN':>12}   TFLOP/s, {dtype_name}, "
        f"{batch} x {seqlen}, heads*hd = 2048")
    for hd, hdv in hds:
        for causal in ((True,) if causal_only else (False, True)):
            label = f"hd{hd}{'' if hd == hdv else '/' + str(hdv)} {'causal' if causal else 'full'}"
            heads = 2048 // hd
            try:
                q = torch.randn(batch * seqlen, heads, hd, dtype=dtype, device="cuda")
                k = torch.randn(batch * seqlen, heads, hd, dtype=dtype, device="cuda")
                v = torch.randn(batch * seqlen, heads, hdv, dtype=dtype, device="cuda")
                o = torch.empty(batch * seqlen, heads, hdv, dtype=dtype, device="cuda")
                lse = torch.empty(heads, batch * seqlen, dtype=torch.float32, device="cuda")
                flops = batch * 2 * visible_pairs(seqlen, seqlen, causal) * heads * (hd + hdv)
                scale = 1.0 / math.sqrt(hd)
                fns = {}
                for tag in tags:
                    name = variant_name(dtype_name, hd, hdv, causal, tag)
                    if name in runner.symbols:
                        plan = runner.plan([seqlen] * batch, [seqlen] * batch, heads, hd, hdv, causal, name)
                        log(f"launch bench {name}")
                        fns[tag] = (lambda name=name, plan=plan: runner.run(name, q, k, v, o, lse, plan, scale))
                        fns[tag]()
                peers = []
                if baselines:
                    qb, kb, vb = (t.view(batch, seqlen, heads, -1).transpose(1, 2) for t in (q, k, v))
                    for key, backend in (("cuDNN", SDPBackend.CUDNN_ATTENTION), ("FA2", SDPBackend.FLASH_ATTENTION)):
                        if key not in PEERS:
                            continue
                        def f(backend=backend):
                            with sdpa_kernel(backend):
                                F.scaled_dot_product_attention(qb, kb, vb, is_causal=causal)
                        try:
                            f()
                            fns[key] = f
                            peers.append(key)
                        except Exception:
                            pass
                # side by side: warm-up to the steady clock, interleaved rounds in alternating order
                per = compare_side_by_side(fns, rounds=ROUNDS)
                tput = {key: flops / median(ms) / 1e9 for key, ms in per.items()}
                row = [f"{tput[t]:14.1f}" if t in tput else f"{'-':>14}" for t in tags]
                row += [f"{tput[p]:10.1f}" if p in tput else f"{'n/a':>10}" for p in ("cuDNN", "FA2")]
                ours = [t for t in tags if t in per]
                if "cuDNN" in per and ours:
                    row.append(f"{max(ratio(per, t, 'cuDNN') for t in ours):12.3f}")
                    row.append("   per tag x cuDNN (median of rounds): " + ", ".join(
                        f"{t or 'base'} {ratio(per, t, 'cuDNN'):.3f}" for t in ours))
                if "" in per and len(ours) > 1:
                    row.append("; x base: " + ", ".join(f"{t} {ratio(per, t, ''):.3f}" for t in ours if t))
                if REF_TAG and REF_TAG in per and len(ours) > 1:
                    row.append(f"; x {REF_TAG}: " + ", ".join(
                        f"{t or 'base'} {ratio(per, t, REF_TAG):.3f}" for t in ours if t != REF_TAG))
                row.append("; rounds ms: " + ", ".join(
                    f"{t or 'base'} [" + " ".join(f"{x:.4f}" for x in per[t]) + "]" for t in per))
                log(f"{label:<22}" + "".join(row))
            except Exception:
                log(f"{label:<22} ERROR\n" + traceback.format_exc())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "prefill_dev", "prefill_dev.so"))
    ap.add_argument("--only", default="", help="substring of variant names to check")
    ap.add_argument("--tags", default=None,
                    help="comma list of A/B tags to run ('' = untagged); default: every tag in the manifest")
    ap.add_argument("--quick", action="store_true", help="fewer, smaller correctness cases")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--no-bench", action="store_true")
    ap.add_argument("--seqlen", type=int, default=16384)
    ap.add_argument("--extra-bench", action="store_true",
                    help="also bench causal 4k (1 x 4096 x 4) and 1k (16 x 1024), the target shapes")
    ap.add_argument("--shapes", default="",
                    help="bench these BATCHxSEQLEN shapes (e.g. 16x1024,4x4096,1x16384), both masks, every head dim "
                         "built, instead of the default 1 x --seqlen (+ --extra-bench)")
    ap.add_argument("--extra-4k-all", action="store_true", help="--extra-bench: 4k for every head dim (not only hd128)")
    ap.add_argument("--causal-only", action="store_true", help="bench causal cases only")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds per case")
    ap.add_argument("--peers", default="cuDNN,FA2", help="SDPA peers timed beside ours (comma list; '' = none)")
    ap.add_argument("--ref-tag", default="", help="also print every tag's ratio to this tag (where built)")
    ap.add_argument("--order", default="cost", choices=("cost", "l2", "pkg"), help="work list order (see make_work)")
    args = ap.parse_args()
    global WORK_ORDER, ROUNDS, REF_TAG, PEERS
    REF_TAG = args.ref_tag
    PEERS = tuple(filter(None, args.peers.split(",")))
    WORK_ORDER = args.order
    ROUNDS = args.rounds

    log(f"work order {WORK_ORDER}")
    log(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}, lib {args.lib}")
    manifest = os.path.join(os.path.dirname(args.lib), "manifest.json")
    man = json.load(open(manifest)) if os.path.exists(manifest) else {}
    symbols = set(man["symbols"]) if man else None
    SYMBOL_TILE_M.update(man.get("tile_m", {}))
    runner = Runner(args.lib)
    if args.tags is None:
        tags = sorted({n.partition("__")[2] for n in symbols}) if symbols else [""]
    else:
        tags = args.tags.split(",")
    runner.symbols = symbols if symbols is not None else {
        variant_name(d, h, hv, c, t) for d in DTYPES for h, hv in TILE_M for c in (False, True) for t in tags}
    variants = []
    for tag in tags:
        for dtype in ("bf16", "fp16"):
            for hd, hdv in ((128, 128), (64, 64), (256, 256), (192, 128)):
                for causal in (False, True):
                    name = variant_name(dtype, hd, hdv, causal, tag)
                    if args.only in name and name in runner.symbols:
                        variants.append((dtype, hd, hdv, causal, tag))
    log(f"variants: {[variant_name(*v) for v in variants]}")
    all_ok = True
    if not args.no_check:
        all_ok = correctness(runner, variants, args.quick)
    if not args.no_bench:
        if not all_ok:
            log("\nNOTE: some checks failed: timings below are of a build that is NOT correct")
        dtypes = sorted({v[0] for v in variants}, key=lambda d: d != "bf16")[:1]
        hds = [h for h in ((64, 64), (128, 128), (256, 256), (192, 128)) if any(v[1:3] == h for v in variants)]
        for dtype in dtypes:
            if args.shapes:
                for shape in args.shapes.split(","):
                    b, _, n = shape.partition("x")
                    bench(runner, dtype, hds, int(n), tags, batch=int(b), causal_only=args.causal_only)
                continue
            bench(runner, dtype, hds, args.seqlen, tags, causal_only=args.causal_only)
            if args.extra_bench:
                bench(runner, dtype, [h for h in hds if args.extra_4k_all or h == (128, 128)], 4096, tags, batch=4,
                      causal_only=True)
                bench(runner, dtype, hds, 1024, tags, batch=16, causal_only=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
