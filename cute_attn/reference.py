"""Pure-torch references in high precision (float64 by default), used by every test.

Conventions shared with the kernels:
- NHD tensors: q ``(total_q, num_qo_heads, head_dim)``, k/v ``(total_kv, num_kv_heads, head_dim[_v])``;
  ragged batches by cumulative lengths ``qo_indptr``/``kv_indptr`` (int, ``batch + 1``).
- GQA/MQA: query head ``h`` reads kv head ``h // (num_qo_heads // num_kv_heads)``.
- Causal is aligned bottom-right: query ``i`` of a request with ``q_len`` queries and ``kv_len`` keys
  sees keys ``j <= i + kv_len - q_len``.
- LSE is the natural-log log-sum-exp of the scaled scores; a query that sees no key has output 0 and
  LSE ``-inf``.
- Paged cache (CSR page table): request ``b`` owns pages ``kv_indices[kv_indptr[b]:kv_indptr[b+1]]``,
  all full but the last, which holds ``kv_last_page_len[b]`` rows (in ``[1, page_size]``; a request
  with no page has length 0). NHD cache ``(num_pages, page_size, num_kv_heads, head_dim)``, HND cache
  ``(num_pages, num_kv_heads, page_size, head_dim)``.
"""

from __future__ import annotations

import math

import torch


def _ints(x) -> list[int]:
    return [int(v) for v in (x.tolist() if torch.is_tensor(x) else x)]


def attention(q, k, v, causal=False, sm_scale=None, dtype=torch.float64):
    """One request: q ``(q_len, hq, d)``, k ``(kv_len, hk, d)``, v ``(kv_len, hk, dv)``.

    Returns ``(out (q_len, hq, dv), lse (q_len, hq))`` in ``dtype``.
    """
    q_len, hq, d = q.shape
    kv_len, hk, dv = v.shape
    if hq % hk:
        raise ValueError(f"num_qo_heads {hq} is not a multiple of num_kv_heads {hk}")
    scale = 1.0 / math.sqrt(d) if sm_scale is None else sm_scale
    group = hq // hk
    qf = q.to(dtype).transpose(0, 1)  # (hq, q_len, d)
    kf = k.to(dtype).transpose(0, 1).repeat_interleave(group, dim=0)
    vf = v.to(dtype).transpose(0, 1).repeat_interleave(group, dim=0)
    s = torch.matmul(qf, kf.transpose(1, 2)) * scale  # (hq, q_len, kv_len)
    if causal:
        i = torch.arange(q_len, device=q.device).unsqueeze(1)
        j = torch.arange(kv_len, device=q.device).unsqueeze(0)
        s = s.masked_fill(j > i + (kv_len - q_len), float("-inf"))
    lse = torch.logsumexp(s, dim=-1)  # -inf where a row sees no key (or kv_len == 0)
    p = torch.exp(s - torch.where(torch.isinf(lse), torch.zeros_like(lse), lse).unsqueeze(-1))
    out = torch.matmul(p, vf)  # rows with no key: p is all 0 -> out 0
    return out.transpose(0, 1).contiguous(), lse.transpose(0, 1).contiguous()


def ragged_attention(q, k, v, qo_indptr, kv_indptr, causal=False, sm_scale=None, dtype=torch.float64):
    """Ragged batch: each request ``b`` is rows ``qo_indptr[b]:qo_indptr[b+1]`` of q and likewise of k/v.

    Returns ``(out (total_q, hq, dv), lse (total_q, hq))``.
    """
    qo, kv = _ints(qo_indptr), _ints(kv_indptr)
    if len(qo) != len(kv):
        raise ValueError("qo_indptr and kv_indptr must have the same length")
    out = torch.zeros(q.shape[0], q.shape[1], v.shape[2], dtype=dtype, device=q.device)
    lse = torch.full((q.shape[0], q.shape[1]), float("-inf"), dtype=dtype, device=q.device)
    for b in range(len(qo) - 1):
        if qo[b + 1] == qo[b]:
            continue
        o_b, l_b = attention(
            q[qo[b] : qo[b + 1]], k[kv[b] : kv[b + 1]], v[kv[b] : kv[b + 1]], causal, sm_scale, dtype
        )
        out[qo[b] : qo[b + 1]] = o_b
        lse[qo[b] : qo[b + 1]] = l_b
    return out, lse


def paged_kv_lengths(kv_indptr, kv_last_page_len, page_size: int) -> list[int]:
    """KV length of each request of a CSR page table."""
    ind, last = _ints(kv_indptr), _ints(kv_last_page_len)
    lens = []
    for b in range(len(ind) - 1):
        n = ind[b + 1] - ind[b]
        lens.append(0 if n == 0 else (n - 1) * page_size + last[b])
    return lens


def paged_row_map(kv_indptr, kv_indices, kv_last_page_len, page_size: int) -> list[list[tuple[int, int]]]:
    """For each request, the (page, slot) of each of its logical KV rows: the page walk."""
    ind, idx = _ints(kv_indptr), _ints(kv_indices)
    rows = []
    for b, n in enumerate(paged_kv_lengths(kv_indptr, kv_last_page_len, page_size)):
        rows.append([(idx[ind[b] + r // page_size], r % page_size) for r in range(n)])
    return rows


def gather_paged_kv(k_cache, v_cache, kv_indptr, kv_indices, kv_last_page_len, kv_layout="NHD"):
    """Gather a paged cache into ragged ``(k, v, kv_indptr_ragged)`` (NHD, contiguous)."""
    if kv_layout == "HND":
        k_cache, v_cache = k_cache.transpose(1, 2), v_cache.transpose(1, 2)
    elif kv_layout != "NHD":
        raise ValueError(f"kv_layout must be 'NHD' or 'HND', got {kv_layout!r}")
    page_size = k_cache.shape[1]
    ks, vs, lens = [], [], []
    for rows in paged_row_map(kv_indptr, kv_indices, kv_last_page_len, page_size):
        pages = torch.tensor([p for p, _ in rows], dtype=torch.long, device=k_cache.device)
        slots = torch.tensor([s for _, s in rows], dtype=torch.long, device=k_cache.device)
        ks.append(k_cache[pages, slots])
        vs.append(v_cache[pages, slots])
        lens.append(len(rows))
    indptr = [0]
    for n in lens:
        indptr.append(indptr[-1] + n)
    return torch.cat(ks), torch.cat(vs), torch.tensor(indptr, dtype=torch.int32)


def paged_attention(
    q, k_cache, v_cache, qo_indptr, kv_indptr, kv_indices, kv_last_page_len,
    causal=False, sm_scale=None, kv_layout="NHD", dtype=torch.float64,
):
    """Attention of a ragged query batch over a paged KV cache (see the module docstring)."""
    k, v, kv_ragged = gather_paged_kv(k_cache, v_cache, kv_indptr, kv_indices, kv_last_page_len, kv_layout)
    return ragged_attention(q, k, v, qo_indptr, kv_ragged, causal, sm_scale, dtype)


def append_paged_kv_cache(k_new, v_new, batch_indices, positions, k_cache, v_cache, kv_indices, kv_indptr,
                          kv_layout="NHD"):
    """In place: row ``i`` of k_new/v_new goes to logical row ``positions[i]`` of request
    ``batch_indices[i]`` of the paged cache. Returns ``(k_cache, v_cache)``."""
    if kv_layout == "HND":
        kc, vc = k_cache.transpose(1, 2), v_cache.transpose(1, 2)
    else:
        kc, vc = k_cache, v_cache
    page_size = kc.shape[1]
    ind, idx = _ints(kv_indptr), _ints(kv_indices)
    for i, (b, p) in enumerate(zip(_ints(batch_indices), _ints(positions))):
        page = idx[ind[b] + p // page_size]
        kc[page, p % page_size] = k_new[i]
        vc[page, p % page_size] = v_new[i]
    return k_cache, v_cache


def batch_indices_positions(append_indptr, seq_lens) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows appended to request ``b`` are ``append_indptr[b]:append_indptr[b+1]``; they become the last
    rows of a sequence of final length ``seq_lens[b]``."""
    ap, sl = _ints(append_indptr), _ints(seq_lens)
    bi, pos = [], []
    for b in range(len(ap) - 1):
        n = ap[b + 1] - ap[b]
        bi += [b] * n
        pos += list(range(sl[b] - n, sl[b]))
    return torch.tensor(bi, dtype=torch.int32), torch.tensor(pos, dtype=torch.int32)


def merge_state(v_a, s_a, v_b, s_b, dtype=torch.float64):
    """Merge two partial attention states by their natural-log LSE. ``-inf`` LSE = empty part."""
    v, s = merge_states(torch.stack([v_a, v_b], dim=1), torch.stack([s_a, s_b], dim=1), dtype)
    return v, s


def merge_states(v, s, dtype=torch.float64):
    """Merge ``k`` partial states: v ``(n, k, h, d)``, s ``(n, k, h)`` -> ``(n, h, d)``, ``(n, h)``."""
    vf, sf = v.to(dtype), s.to(dtype)
    s_max = sf.max(dim=1, keepdim=True).values
    s_max = torch.where(torch.isinf(s_max), torch.zeros_like(s_max), s_max)
    w = torch.exp(sf - s_max)  # (n, k, h); 0 for empty parts
    total = w.sum(dim=1)
    out = (w.unsqueeze(-1) * vf).sum(dim=1) / torch.where(total > 0, total, torch.ones_like(total)).unsqueeze(-1)
    lse = torch.log(total) + s_max.squeeze(1)
    return out, lse


def mla_decode(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, kv_last_page_len, sm_scale,
               dtype=torch.float64):
    """MLA decode in absorbed form (DeepSeek): one latent KV head shared by all query heads.

    q_nope ``(batch, heads, 512)`` (already multiplied by W_UK), q_pe ``(batch, heads, 64)``, ckv_cache
    ``(num_pages, page_size, 512)``, kpe_cache ``(num_pages, page_size, 64)``. Score of key ``j`` is
    ``sm_scale * (q_nope . ckv_j + q_pe . kpe_j)``; the value is ``ckv_j``. Returns
    ``(out (batch, heads, 512), lse (batch, heads))``; apply W_UV to ``out`` outside.
    """
    q = torch.cat([q_nope, q_pe], dim=-1)  # (b, h, 576)
    k_cache = torch.cat([ckv_cache, kpe_cache], dim=-1).unsqueeze(2)  # (pages, ps, 1, 576)
    v_cache = ckv_cache.unsqueeze(2)
    batch = q.shape[0]
    qo_indptr = list(range(batch + 1))
    out, lse = paged_attention(
        q, k_cache, v_cache, qo_indptr, kv_indptr, kv_indices, kv_last_page_len, False, sm_scale, "NHD", dtype
    )
    return out, lse
