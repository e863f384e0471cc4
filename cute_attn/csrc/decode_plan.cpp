// Decode planner, compiled: the schedule of cute_attn.decode.plan_decode_work (the numpy reference,
// kept as the fallback) bit for bit, plus plan()'s page-table checks and the page-id copy, in one
// call (a few passes over the batch and the cuts). Built by `python -m cute_attn.build` into the artifact
// directory as decode_plan-<source hash>.so and called through ctypes (plan() uses decode_plan_packed: one
// pointer to an argument block); no allocation here (the caller hands in the scratch), no C++ runtime (libc
// and libm only, GCC vector extensions for the item rows).
//
// Float arithmetic follows numpy's exactly (float64 divisions, products and comparisons in the same
// order; floor division as numpy's npy_divmod; stream positions, integers below 2^53, as exact doubles:
// struct Req), so the two planners agree on every cut.

#include <math.h>
#include <stdint.h>
#include <string.h>

namespace {

// constants of cute_attn/decode.py and layouts/decode_work.py: tests/test_decode_plan.py compares this
// planner with the numpy one, so a constant changed on one side only fails there
constexpr int64_t ITEM_WIDTH = 12;
constexpr int64_t MAX_ROWS = 64;
constexpr int64_t ITEM_OVERHEAD_BYTES = 32 << 10;
constexpr int64_t MIN_ROWS_PER_CTA = 256;
constexpr int64_t MIN_PIECE_ROWS = 64;
constexpr double SNAP_FRACTION = 0.03;
constexpr int64_t CTA_SLACK_DIV = 20;
constexpr int64_t HEAD_MINOR_MIN_PAGE = 16;
constexpr int64_t HEAD_MINOR_MIN_PAGE_HD64 = 1;  // numpy: HEAD_MINOR_MIN_PAGE_BY_HEAD_DIM = {64: 1}
constexpr int64_t TMP_ALIGN_ROWS = 32;
// items of H kv heads (numpy: _item_heads_rule; layouts/decode_work.py ITEM_HEADS, ITEM_HEADS_HEAD_DIMS)
constexpr int64_t ITEM_HEADS[] = {8, 4, 2};
inline bool item_heads_head_dim(int64_t d) { return d == 64 || d == 128; }
// Planner knob (numpy: MAX_PARTS; decode-fix, NOT measured on a GPU): > 0 caps the CTAs at max_parts x the
// sequences, so an equal-length batch splits each sequence into at most max_parts parts. 0 (default): off.
// Process-wide, set by plan_set_max_parts (benches); the schedule is numpy's for the same value.
static int64_t g_max_parts = 0;

enum Col { BATCH, KV_HEAD, HEAD0, ROWS, KV_START, KV_END, PAGE_BASE, MERGE_ID, PART, NUM_PARTS, TMP_BASE, HEADS_LOG2 };

enum Status {
  OK = 0,
  BAD_INDPTR = 1,       // indptr[0] != 0 or decreasing
  INDPTR_PAST_END = 2,  // indptr[batch] > len(kv_indices)
  BAD_LAST_LEN = 3,     // a nonempty request's last page length outside [1, page_size]
  NEGATIVE_PAGE = 4,    // a page id < 0
  SMALL_BUFFER = 5,     // items / cta_ptr / scratch capacity too small
  FALLBACK = 6,         // a case the numpy planner raises on or that breaks this one's assumptions
};

// A request's place in the byte stream as doubles: its end (numpy's req_end), the cost of each of its S
// sequences, 1 / cost, its start (end - S * cost). All but inv are integers below 2^53, so every sum and
// product of them below is exact and equals numpy's int64 arithmetic converted to float64 for its compares:
// locating a cut needs no int64 <-> double conversion (they were most of the CTA-count search's time).
struct Req {
  double end, cost, inv, start;
};

// One cut of the byte stream (numpy: _locate_cuts): request r (advanced from the previous cut's), the
// sequence i of it, that sequence's start lo, the snapped bound; returns false past the stream's end.
struct CutPos {
  int64_t r, i;
  double lo, bound;
  bool snapped;
};

// The quotient's estimate by a product with 1 / cost instead of a division: it may differ from numpy's
// quotient in the last bits, so its ceil may be one off where the quotient is (nearly) an integer, and the
// two one-step corrections below (exact sequence ends, as numpy's) move either estimate to the same sequence.
inline __attribute__((always_inline)) bool locate_cut(double bound, double snap, const Req* req, int64_t batch,
                                                      double last_seq, int64_t* r_io, CutPos* out) {
  int64_t r = *r_io;
  while (r < batch && req[r].end < bound) ++r;  // searchsorted(req_end, bound, 'left')
  *r_io = r;
  if (r == batch) return false;
  const Req q = req[r];
  double i = ceil((bound - q.start) * q.inv) - 1.0;
  i = i < 0.0 ? 0.0 : (i > last_seq ? last_seq : i);
  const double hi0 = q.start + q.cost * (i + 1.0);
  i += (hi0 < bound) && (i < last_seq) ? 1.0 : 0.0;
  i -= (hi0 - q.cost >= bound) && (i > 0.0) ? 1.0 : 0.0;
  const double hi = q.start + q.cost * (i + 1.0);
  const double lo = hi - q.cost;
  const double near = (bound - lo <= hi - bound) ? lo : hi;
  const bool snapped = fabs(near - bound) <= snap;
  *out = CutPos{r, (int64_t)i, lo, snapped ? near : bound, snapped};
  return true;
}

// Cuts left strictly inside a nonempty sequence when the stream is cut into first, first - 1, ...,
// first - n_cand + 1 shares (counts[k] for first - k); false past the stream's end. The candidates advance in
// lockstep, cut j of each in turn: independent chains that the CPU overlaps (one candidate after the other
// waits on every cut's loads and compares).
constexpr int64_t LOCKSTEP = 8;

__attribute__((target_clones("avx2", "default")))
bool count_inside(int64_t total, int64_t first, int64_t n_cand, const Req* req, int64_t batch, int64_t S,
                  int64_t* counts) {
  const double empty_cost = (double)ITEM_OVERHEAD_BYTES;  // the sequence cost of a request without KV rows
  for (int64_t k0 = 0; k0 < n_cand; k0 += LOCKSTEP) {
    const int64_t m = n_cand - k0 < LOCKSTEP ? n_cand - k0 : LOCKSTEP;
    double share[LOCKSTEP], snap[LOCKSTEP];
    int64_t r[LOCKSTEP], n[LOCKSTEP];
    for (int64_t k = 0; k < m; ++k) {
      share[k] = (double)total / (double)(first - k0 - k);
      snap[k] = SNAP_FRACTION * share[k];
      r[k] = n[k] = 0;
    }
    // candidate k0 + k has first - k0 - k - 1 cuts: the first candidates run the longest
    for (int64_t j = 0; j < first - k0 - 1; ++j) {
      for (int64_t k = 0; k < m && j < first - k0 - k - 1; ++k) {
        CutPos p;
        if (!locate_cut((double)(j + 1) * share[k], snap[k], req, batch, (double)(S - 1), &r[k], &p)) return false;
        n[k] += !p.snapped && req[p.r].cost > empty_cost;
      }
    }
    for (int64_t k = 0; k < m; ++k) counts[k0 + k] = n[k];
  }
  return true;
}

// numpy's float floor division (npy_divmod), so cut rows round as in the numpy planner
double np_floor_divide(double a, double b) {
  double mod = fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) div -= 1.0;
  }
  if (div != 0.0) {
    double fl = floor(div);
    if (div - fl > 0.5) fl += 1.0;
    return fl;
  }
  return copysign(0.0, a / b);
}

// Largest page id as uint32 (a negative id reads as >= 2^31), copying the ids to `out` (may be null)
// in the same pass; an AVX2 clone where the CPU has it (the pass is plan()'s largest cost for long
// page tables: 64k ids for a batch of 256 x 4k at page 16).
__attribute__((target_clones("avx2", "default")))
uint32_t copy_max(const int32_t* ids, int64_t n, int32_t* out) {
  uint32_t hi = 0;
  if (out != nullptr) {
    for (int64_t k = 0; k < n; ++k) {
      uint32_t v = (uint32_t)ids[k];
      out[k] = ids[k];
      hi = v > hi ? v : hi;
    }
  } else {
    for (int64_t k = 0; k < n; ++k) {
      uint32_t v = (uint32_t)ids[k];
      hi = v > hi ? v : hi;
    }
  }
  return hi;
}

inline void put_row(int32_t* it, int64_t batch, int64_t kv_head, int64_t head0, int64_t rows, int64_t kv_start,
                    int64_t kv_end, int64_t page_base, int64_t merge_id, int64_t part, int64_t num_parts,
                    int64_t tmp_base) {
  it[BATCH] = (int32_t)batch;
  it[KV_HEAD] = (int32_t)kv_head;
  it[HEAD0] = (int32_t)head0;
  it[ROWS] = (int32_t)rows;
  it[KV_START] = (int32_t)kv_start;
  it[KV_END] = (int32_t)kv_end;
  it[PAGE_BASE] = (int32_t)page_base;
  it[MERGE_ID] = (int32_t)merge_id;
  it[PART] = (int32_t)part;
  it[NUM_PARTS] = (int32_t)num_parts;
  it[TMP_BASE] = (int32_t)tmp_base;
  it[HEADS_LOG2] = 0;
}

// The rows of one request that runs whole on one CTA (the item pass's common case), each row as three
// 16-byte stores of vectors kept in registers: only (kv head, first head) changes from one kv head to
// the next (12 scalar stores per row made this pass store-bound, ~10 us of a batch-256 plan; a row built
// in a local array and copied out as vectors stalls on store forwarding instead). GCC vector extensions
// (SSE2 / NEON), no intrinsics; the values are put_row's.
typedef int32_t v4i __attribute__((vector_size(16)));

inline int32_t* put_request_rows(int32_t* out, int64_t b, int64_t num_kv_heads, int64_t group, int64_t blocks,
                                 int64_t len, int64_t page_base) {
  static_assert(BATCH == 0 && KV_HEAD == 1 && HEAD0 == 2 && ROWS == 3 && KV_START == 4 && KV_END == 5 &&
                PAGE_BASE == 6 && MERGE_ID == 7 && HEADS_LOG2 == 11 && ITEM_WIDTH == 12, "row layout");
  const v4i mid = {0, (int32_t)len, (int32_t)page_base, -1};  // kv_start, kv_end, page_base, merge_id
  const v4i zero = {0, 0, 0, 0};                                // part, num_parts, tmp_base, pad
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t rows = group - blk * MAX_ROWS < MAX_ROWS ? group - blk * MAX_ROWS : MAX_ROWS;
    const v4i step = {0, 1, (int32_t)group, 0};
    v4i head = {(int32_t)b, 0, (int32_t)(blk * MAX_ROWS), (int32_t)rows};
    int32_t* o = out + blk * ITEM_WIDTH;
    for (int64_t hk = 0; hk < num_kv_heads; ++hk, o += blocks * ITEM_WIDTH, head += step) {
      memcpy(o, &head, 16);
      memcpy(o + 4, &mid, 16);
      memcpy(o + 8, &zero, 16);
    }
  }
  return out + num_kv_heads * blocks * ITEM_WIDTH;
}

// Items of H kv heads in plans of mixed lengths (numpy: _merge_head_runs, session 24): in each CTA's item range, a run
// of H items that are whole sequences (no split part) of one request with kv heads h .. h + H - 1 (h a multiple of H; H
// from ITEM_HEADS, at most max_item_heads, H x group <= MAX_ROWS) becomes one item (its first row, H x the rows, log2 H);
// left to right, the largest H first (aligned runs nest, so this is numpy's level-by-level pass). In place; returns the
// new item count and sets *merged when a run was merged.
inline bool head_run(const int32_t* it, int64_t n, int64_t h) {
  if (n < h || it[NUM_PARTS] != 0 || it[HEADS_LOG2] != 0 || it[KV_HEAD] % h != 0) return false;
  for (int64_t j = 1; j < h; ++j) {
    const int32_t* o = it + j * ITEM_WIDTH;
    if (o[NUM_PARTS] != 0 || o[HEADS_LOG2] != 0 || o[BATCH] != it[BATCH] || o[KV_HEAD] != it[KV_HEAD] + j) return false;
  }
  return true;
}

int64_t merge_head_runs(int32_t* items, int32_t* cta_ptr, int64_t num_ctas, int64_t group, int64_t max_item_heads,
                        bool* merged) {
  *merged = false;
  int64_t out = 0;
  int64_t begin = cta_ptr[0];
  for (int64_t c = 0; c < num_ctas; ++c) {
    const int64_t end = cta_ptr[c + 1];
    for (int64_t p = begin; p < end;) {
      int64_t h = 1;
      for (int64_t hc : ITEM_HEADS) {
        if (hc <= max_item_heads && hc * group <= MAX_ROWS && head_run(items + p * ITEM_WIDTH, end - p, hc)) {
          h = hc;
          break;
        }
      }
      int32_t* dst = items + out * ITEM_WIDTH;
      if (dst != items + p * ITEM_WIDTH) memmove(dst, items + p * ITEM_WIDTH, ITEM_WIDTH * sizeof(int32_t));
      if (h > 1) {
        dst[ROWS] *= (int32_t)h;
        dst[HEADS_LOG2] = h == 8 ? 3 : (h == 4 ? 2 : 1);
        *merged = true;
      }
      ++out;
      p += h;
    }
    begin = end;
    cta_ptr[c + 1] = (int32_t)out;
  }
  return out;
}

struct Cut {
  int64_t cta;  // the CTA after the cut is cta + 1
  int64_t seq;
  int64_t len;
  int64_t row;
};

}  // namespace

extern "C" {

int64_t plan_abi(void) { return 5; }

// The MAX_PARTS knob (see g_max_parts); returns the value in force after the call. A negative value reads it.
int64_t plan_set_max_parts(int64_t max_parts) {
  if (max_parts >= 0) g_max_parts = max_parts;
  return g_max_parts;
}

// Scratch (int64) the caller must hand in for a batch of `batch` requests and `num_sms` CTAs.
int64_t plan_scratch_len(int64_t batch, int64_t num_sms) { return 5 * batch + 7 * num_sms + 16; }

// Plans a batch of `batch` requests (items of up to `max_item_heads` kv heads: numpy's max_item_heads; 1 = off; with
// `mixed_heads` also in plans the uniform rule leaves at one head per item: numpy's mixed_item_heads):
// page table `indptr` (batch + 1) / `last_len` (batch), page ids
// `indices` (indices_len; may be null: then not range-checked) copied to `indices_out` (idx_cap; may
// be null). Writes `items` (item_cap >= batch * sequences per request + num_sms rows) and `cta_ptr`
// (cta_cap >= num_sms + 1; entries past num_ctas hold num_items). Returns a Status; info (int64[8]):
// num_items, num_ctas, num_splits, tmp_rows, max_page_id (-1 when not seen), nnz_pages, index of
// the first bad entry (on OK: 1 when the mixed pass merged a run, i.e. items of different head counts), the largest
// request's page count (the sort_pages launch's grid).
int decode_plan(const int32_t* indptr, const int32_t* last_len, int64_t batch, int64_t page_size,
                const int32_t* indices, int64_t indices_len, int32_t* indices_out, int64_t idx_cap,
                int64_t num_qo_heads,
                int64_t num_kv_heads, int64_t head_dim, int64_t num_sms, int64_t max_item_heads, int64_t mixed_heads,
                int64_t elem_bytes,
                int32_t* items, int64_t item_cap, int32_t* cta_ptr, int64_t cta_cap, int64_t* scratch,
                int64_t scratch_len, int64_t* info) {
  for (int k = 0; k < 8; ++k) info[k] = 0;
  info[4] = -1;
  if (num_kv_heads <= 0 || num_qo_heads % num_kv_heads || num_sms <= 0) return FALLBACK;
  if (scratch_len < plan_scratch_len(batch, num_sms) || cta_cap < num_sms + 1) return SMALL_BUFFER;
  const int64_t group = num_qo_heads / num_kv_heads;
  const int64_t blocks = (group + MAX_ROWS - 1) / MAX_ROWS;
  const int64_t S = num_kv_heads * blocks;
  const int64_t n_seq = batch * S;

  // ---- page table: checks, request lengths, page ids
  int64_t* kv_lens = scratch;               // batch
  double* cut_space = (double*)(kv_lens + batch);        // 7 num_sms + 16: the cut arrays below
  Req* req = (Req*)(cut_space + 7 * num_sms + 16);       // batch (4 doubles each)
  if (indptr[0] != 0) return info[6] = 0, BAD_INDPTR;
  int64_t max_pages = 0;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t pages = (int64_t)indptr[b + 1] - indptr[b];
    if (pages < 0) return info[6] = b + 1, BAD_INDPTR;
    int64_t last = last_len[b];
    if (pages > 0 && (last < 1 || last > page_size)) return info[6] = b, BAD_LAST_LEN;
    kv_lens[b] = pages > 0 ? (pages - 1) * page_size + last : 0;
    max_pages = pages > max_pages ? pages : max_pages;
  }
  info[7] = max_pages;
  const int64_t nnz = batch > 0 ? indptr[batch] : 0;
  info[5] = nnz;
  if (nnz > indices_len) return INDPTR_PAST_END;
  if (indices_out != nullptr && nnz > idx_cap) return SMALL_BUFFER;
  if (indices != nullptr && nnz > 0) {
    const uint32_t hi = copy_max(indices, nnz, indices_out);
    if (hi >= (1u << 31)) return NEGATIVE_PAGE;
    info[4] = hi;
  }
  if (n_seq == 0) {
    cta_ptr[0] = 0;
    for (int64_t c = 1; c < cta_cap; ++c) cta_ptr[c] = 0;
    return OK;
  }
  if (item_cap < n_seq + num_sms) return SMALL_BUFFER;

  // ---- the byte stream and its cuts (numpy: plan_decode_work)
  const int64_t row_bytes = 2 * head_dim * elem_bytes;
  int64_t acc = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t seq_cost = kv_lens[b] * row_bytes + ITEM_OVERHEAD_BYTES;  // every sequence of request b
    acc += seq_cost * S;
    req[b] = Req{(double)acc, (double)seq_cost, 1.0 / (double)seq_cost, (double)(acc - seq_cost * S)};
  }
  const int64_t total = acc;
  if (total >= (int64_t)1 << 53) return FALLBACK;  // Req's doubles exact below 2^53 (8 PiB of KV: never in practice)
  if (g_max_parts > 0 && g_max_parts * n_seq < num_sms) num_sms = g_max_parts * n_seq;  // numpy: MAX_PARTS
  const double per_sm = (double)total / (double)num_sms;
  const int64_t min_cta = MIN_ROWS_PER_CTA * row_bytes + ITEM_OVERHEAD_BYTES;
  const double target = per_sm >= (double)min_cta ? per_sm : (double)min_cta;
  int64_t num_ctas = (int64_t)ceil((double)total / target);
  if (num_ctas > num_sms) num_ctas = num_sms;
  if (num_ctas < 1) num_ctas = 1;
  if (num_ctas == num_sms && CTA_SLACK_DIV > 0) {  // numpy: CTA_SLACK_DIV
    int64_t lowest = num_sms - num_sms / CTA_SLACK_DIV;
    if (lowest < 2) lowest = 2;
    // the fewest cuts inside, ties to the most CTAs; the counts use the cut arrays' space (not yet filled)
    int64_t* counts = (int64_t*)(cut_space + num_sms);
    if (!count_inside(total, num_sms, num_sms - lowest + 1, req, batch, S, counts)) {
      return FALLBACK;
    }
    int64_t best_n = counts[0], best_c = num_sms;
    for (int64_t cand = num_sms - 1; cand >= lowest; --cand) {
      if (counts[num_sms - cand] < best_n) {
        best_n = counts[num_sms - cand];
        best_c = cand;
      }
    }
    num_ctas = best_c;
  }
  const double share = (double)total / (double)num_ctas;
  const int64_t n_bounds = num_ctas - 1;

  double* bounds = cut_space;                           // n_bounds
  Cut* cuts = (Cut*)(bounds + num_sms);                 // n_bounds (4 int64 each)
  int64_t* cut_drop = (int64_t*)(cuts + num_sms);       // n_bounds: dropped (1) / kept (0)
  int64_t* bump = cut_drop + num_sms;                   // n_bounds: sequences whose first CTA moves by one
  int64_t n_cuts = 0;
  int64_t r = 0;
  for (int64_t j = 0; j < n_bounds; ++j) {
    CutPos p;
    if (!locate_cut((double)(j + 1) * share, SNAP_FRACTION * share, req, batch, (double)(S - 1), &r, &p)) {
      return FALLBACK;
    }
    const double bound = p.bound;
    const int64_t i = p.i;
    const double lo = p.lo;
    const bool snapped = p.snapped;
    if (j > 0 && bound < bounds[j - 1]) return FALLBACK;  // the walks below need sorted bounds
    bounds[j] = bound;
    if (!snapped && kv_lens[r] > 0) {
      const int64_t len = kv_lens[r];
      double row = np_floor_divide(bound - lo - (double)ITEM_OVERHEAD_BYTES, (double)row_bytes);
      row = row < 0.0 ? 0.0 : row;
      row = row > (double)len ? (double)len : row;
      cuts[n_cuts++] = Cut{j, r * S + i, len, (int64_t)row};
    }
  }

  // short first / last pieces join their neighbour (the flags see every cut, as in numpy)
  int64_t n_moved = 0;
  for (int64_t k = 0; k < n_cuts; ++k) {
    const bool first = k == 0 || cuts[k].seq != cuts[k - 1].seq;
    const bool last = k == n_cuts - 1 || cuts[k].seq != cuts[k + 1].seq;
    const int64_t tail = cuts[k].len - cuts[k].row;
    bool drop;
    if (first && last) {
      drop = (cuts[k].row < tail ? cuts[k].row : tail) < MIN_PIECE_ROWS;
    } else {
      drop = (first && cuts[k].row < MIN_PIECE_ROWS) || (last && tail < MIN_PIECE_ROWS);
    }
    cut_drop[k] = drop;
    if (drop && first && (!(first && last) || cuts[k].row <= tail)) bump[n_moved++] = cuts[k].seq;
  }
  int64_t kept = 0;
  for (int64_t k = 0; k < n_cuts; ++k) {
    if (!cut_drop[k]) cuts[kept++] = cuts[k];
  }
  n_cuts = kept;

  // ---- items in stream order: a sequence's row once, or once per part of its split
  for (int64_t c = 0; c <= num_ctas; ++c) cta_ptr[c] = 0;
  int32_t* counts = cta_ptr + 1;  // items per CTA, summed in place below
  int64_t n_items = 0, split = 0, tmp_rows = 0, k = 0, moved = 0, next_bound = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = kv_lens[b];
    const double seq_base = req[b].start, seq_cost_d = req[b].cost;  // exact (Req)
    const int64_t seq0 = b * S;
    while (next_bound < n_bounds && bounds[next_bound] <= seq_base) ++next_bound;
    // fast path, most requests: no cut or moved start among its sequences and no CTA boundary
    // between their starts, so all of them run whole on one CTA
    const bool whole = (k >= n_cuts || cuts[k].seq >= seq0 + S) && (moved >= n_moved || bump[moved] >= seq0 + S);
    if (whole && (next_bound >= n_bounds || bounds[next_bound] > seq_base + seq_cost_d * (double)(S - 1))) {
      if (next_bound >= num_ctas) return FALLBACK;
      put_request_rows(items + n_items * ITEM_WIDTH, b, num_kv_heads, group, blocks, len, indptr[b]);
      counts[next_bound] += (int32_t)S;
      n_items += S;
      continue;
    }
    if (whole && blocks == 1) {
      // next most common (a CTA boundary among the sequence starts, no cut, no moved start, one head block):
      // the general loop below without its per-sequence cut / move tests, rows as put_request_rows stores them
      const v4i mid = {0, (int32_t)len, indptr[b], -1};
      const v4i zero = {0, 0, 0, 0};
      const v4i step = {0, 1, (int32_t)group, 0};
      v4i head = {(int32_t)b, 0, 0, (int32_t)group};
      int32_t* out = items + n_items * ITEM_WIDTH;
      for (int64_t s = 0; s < S; ++s, out += ITEM_WIDTH, head += step) {
        const double start = seq_base + seq_cost_d * (double)s;
        while (next_bound < n_bounds && bounds[next_bound] <= start) ++next_bound;
        if (next_bound >= num_ctas) return FALLBACK;
        counts[next_bound] += 1;
        memcpy(out, &head, 16);
        memcpy(out + 4, &mid, 16);
        memcpy(out + 8, &zero, 16);
      }
      n_items += S;
      continue;
    }
    for (int64_t hk = 0; hk < num_kv_heads; ++hk) {
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t s = hk * blocks + blk;
        const int64_t seq = b * S + s;
        const int64_t rows = group - blk * MAX_ROWS < MAX_ROWS ? group - blk * MAX_ROWS : MAX_ROWS;
        // searchsorted(bounds, seq start, 'right'), the starts ascending
        const double start = seq_base + seq_cost_d * (double)s;
        while (next_bound < n_bounds && bounds[next_bound] <= start) ++next_bound;
        int64_t cta = next_bound;
        if (moved < n_moved && bump[moved] == seq) cta += 1, ++moved;
        int64_t parts = 1;
        while (k + parts - 1 < n_cuts && cuts[k + parts - 1].seq == seq) ++parts;
        const int64_t head0 = hk * group + blk * MAX_ROWS;
        // every field is stored as a scalar (a row built in a local and copied out as vectors
        // stalls on store forwarding: 3x slower)
        int32_t* out = items + n_items * ITEM_WIDTH;
        if (parts == 1) {  // the common case: the sequence's whole row
          if (cta >= num_ctas) return FALLBACK;
          put_row(out, b, hk, head0, rows, 0, len, indptr[b], -1, 0, 0, 0);
          counts[cta] += 1;
          ++n_items;
          continue;
        }
        const int64_t tmp_base = tmp_rows;
        tmp_rows += (parts * rows + TMP_ALIGN_ROWS - 1) / TMP_ALIGN_ROWS * TMP_ALIGN_ROWS;
        for (int64_t p = 0; p < parts; ++p) {
          put_row(out + p * ITEM_WIDTH, b, hk, head0, rows, p == 0 ? 0 : cuts[k + p - 1].row,
                  p == parts - 1 ? len : cuts[k + p].row, indptr[b], split, p, parts, tmp_base);
          const int64_t c = p == 0 ? cta : cuts[k + p - 1].cta + 1;
          if (c < 0 || c >= num_ctas) return FALLBACK;
          counts[c] += 1;
        }
        n_items += parts;
        ++split;
        k += parts - 1;
      }
    }
  }
  if (moved != n_moved || k != n_cuts) return FALLBACK;
  for (int64_t c = 1; c <= num_ctas; ++c) cta_ptr[c] += cta_ptr[c - 1];
  // items of H kv heads (numpy: _item_heads_rule): no split, every CTA k > 1 whole sequences in stream order; runs of
  // H stream-adjacent sequences (one request's kv heads, one CTA) become one item each (its first row, H x the rows)
  if (split == 0 && n_items == n_seq && n_seq % num_ctas == 0 && n_seq / num_ctas >= 2 &&
      item_heads_head_dim(head_dim) && group <= MAX_ROWS) {
    const int64_t kc = n_seq / num_ctas;
    bool even = true;
    for (int64_t c = 1; c <= num_ctas && even; ++c) even = cta_ptr[c] == c * kc;
    int64_t h = 1;
    for (int64_t hc : ITEM_HEADS) {
      if (even && hc <= max_item_heads && kc % hc == 0 && num_kv_heads % hc == 0 && hc * group <= MAX_ROWS) {
        h = hc;
        break;
      }
    }
    if (h > 1) {
      const int64_t n_new = n_seq / h;
      for (int64_t j = 0; j < n_new; ++j) {
        int32_t* dst = items + j * ITEM_WIDTH;
        memmove(dst, items + j * h * ITEM_WIDTH, ITEM_WIDTH * sizeof(int32_t));
        dst[ROWS] *= (int32_t)h;
        dst[HEADS_LOG2] = h == 8 ? 3 : (h == 4 ? 2 : 1);
      }
      for (int64_t c = 1; c <= num_ctas; ++c) cta_ptr[c] /= (int32_t)h;
      for (int64_t c = num_ctas + 1; c < cta_cap; ++c) cta_ptr[c] = (int32_t)n_new;
      info[0] = n_new;
      info[1] = num_ctas;
      info[2] = 0;
      info[3] = 0;
      return OK;
    }
  }
  // head-minor CTA order (numpy: head_minor_min_page), from that page size up: no split, every CTA k > 1
  // whole sequences, CTAs in groups of S holding k whole requests: CTA s of group g runs sequence s of
  // requests g k .. g k + k - 1
  const int64_t per_cta = n_seq / num_ctas;
  const int64_t hm_min = head_dim == 64 && HEAD_MINOR_MIN_PAGE_HD64 < HEAD_MINOR_MIN_PAGE ? HEAD_MINOR_MIN_PAGE_HD64
                                                                                       : HEAD_MINOR_MIN_PAGE;
  if (hm_min > 0 && page_size >= hm_min && split == 0 && S > 1 && per_cta > 1 &&
      per_cta * num_ctas == n_seq && num_ctas % S == 0 && n_items == n_seq) {
    bool even = true;
    for (int64_t c = 1; c <= num_ctas && even; ++c) even = cta_ptr[c] == c * per_cta;
    if (even) {
      int32_t* out = items;
      for (int64_t g = 0; g < num_ctas / S; ++g) {
        for (int64_t s = 0; s < S; ++s) {
          const int64_t hk = s / blocks, blk = s % blocks;
          const int64_t rows = group - blk * MAX_ROWS < MAX_ROWS ? group - blk * MAX_ROWS : MAX_ROWS;
          for (int64_t j = 0; j < per_cta; ++j, out += ITEM_WIDTH) {
            const int64_t b = g * per_cta + j;
            put_row(out, b, hk, hk * group + blk * MAX_ROWS, rows, 0, kv_lens[b], indptr[b], -1, 0, 0, 0);
          }
        }
      }
    }
  }
  if (mixed_heads && max_item_heads >= 2 && item_heads_head_dim(head_dim) && group <= MAX_ROWS && n_items > 1) {
    bool merged = false;
    n_items = merge_head_runs(items, cta_ptr, num_ctas, group, max_item_heads, &merged);
    info[6] = merged ? 1 : 0;
  }
  for (int64_t c = num_ctas + 1; c < cta_cap; ++c) cta_ptr[c] = (int32_t)n_items;
  info[0] = n_items;
  info[1] = num_ctas;
  info[2] = split;
  info[3] = tmp_rows;
  return OK;
}

// The argument block of decode_plan_packed: decode_plan's arguments as int64 (pointers as addresses), the
// ones plan() sets per call first; info (8) last. decode.py's ARG_* constants mirror it (plan_abi guards the
// pair). One pointer argument instead of 20 converted ones: ~2 us less of ctypes per plan().
enum Arg {
  ARG_INDPTR, ARG_LAST_LEN, ARG_BATCH, ARG_PAGE_SIZE, ARG_INDICES, ARG_INDICES_LEN, ARG_INDICES_OUT, ARG_NUM_QO_HEADS,
  ARG_NUM_KV_HEADS, ARG_HEAD_DIM, ARG_NUM_SMS, ARG_MAX_ITEM_HEADS, ARG_MIXED_HEADS,  // set per call
  ARG_ELEM_BYTES, ARG_IDX_CAP, ARG_ITEMS, ARG_ITEM_CAP, ARG_CTA_PTR, ARG_CTA_CAP, ARG_SCRATCH, ARG_SCRATCH_LEN,
  ARG_INFO,  // 8 int64 of results
  ARG_LEN = ARG_INFO + 8
};

int64_t plan_arg_len(void) { return ARG_LEN; }

int decode_plan_packed(int64_t* a) {
  return decode_plan((const int32_t*)a[ARG_INDPTR], (const int32_t*)a[ARG_LAST_LEN], a[ARG_BATCH], a[ARG_PAGE_SIZE],
                     (const int32_t*)a[ARG_INDICES], a[ARG_INDICES_LEN], (int32_t*)a[ARG_INDICES_OUT], a[ARG_IDX_CAP],
                     a[ARG_NUM_QO_HEADS], a[ARG_NUM_KV_HEADS], a[ARG_HEAD_DIM], a[ARG_NUM_SMS],
                     a[ARG_MAX_ITEM_HEADS], a[ARG_MIXED_HEADS], a[ARG_ELEM_BYTES], (int32_t*)a[ARG_ITEMS], a[ARG_ITEM_CAP], (int32_t*)a[ARG_CTA_PTR], a[ARG_CTA_CAP],
                     (int64_t*)a[ARG_SCRATCH], a[ARG_SCRATCH_LEN], a + ARG_INFO);
}

}  // extern "C"
