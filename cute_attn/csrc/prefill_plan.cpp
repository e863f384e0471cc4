// Prefill planner, compiled: the whole host plan of cute_attn.prefill in one call (prefill_plan_packed: the tile
// variant choice of choose_tile_m, the work list of make_work_list, the schedule choice of schedule_work and the
// packed work tensor, plus int32 copies of the indptr arrays), and the list schedule alone
// (prefill_list_schedule: cute_attn.prefill._list_schedule). The Python functions are the reference and the
// fallback; this gives the same work tensor bit for bit (tests/test_prefill_plan.py). Built by
// `python -m cute_attn.build` into the artifact directory as prefill_plan-<source hash>.so and called through
// ctypes. No allocation beyond the caller's buffers, no C++ runtime (libc only).
//
// Rows arrive in the work list's order with their costs (keys + the per-tile overhead, int64); the last `tail`
// rows are first re-sorted heaviest first (stable: numpy's argsort(-cost, kind="stable")); then each row goes to
// the slot that frees first, the lowest slot index among equal finish times (Python's heapq on (time, slot)
// tuples picks the same one: the order on (time, slot) is total).

#include <stdint.h>

namespace {

// binary min-heap of (time, slot) pairs, ordered as tuples
struct Heap {
  int64_t* time;
  int32_t* slot;
  int64_t n;

  bool less(int64_t a, int64_t b) const {
    return time[a] < time[b] || (time[a] == time[b] && slot[a] < slot[b]);
  }
  void swap(int64_t a, int64_t b) {
    int64_t t = time[a];
    time[a] = time[b];
    time[b] = t;
    int32_t s = slot[a];
    slot[a] = slot[b];
    slot[b] = s;
  }
  void sift_down(int64_t i) {
    for (;;) {
      int64_t l = 2 * i + 1, r = l + 1, m = i;
      if (l < n && less(l, m)) m = l;
      if (r < n && less(r, m)) m = r;
      if (m == i) return;
      swap(i, m);
      i = m;
    }
  }
};

// stable merge sort of idx[0:n] by descending key[idx], using tmp[0:n]
void sort_desc(int64_t* idx, int64_t* tmp, int64_t n, const int64_t* key) {
  for (int64_t width = 1; width < n; width *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * width) {
      int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
      int64_t a = lo, b = mid, k = lo;
      while (a < mid && b < hi) tmp[k++] = key[idx[b]] > key[idx[a]] ? idx[b++] : idx[a++];
      while (a < mid) tmp[k++] = idx[a++];
      while (b < hi) tmp[k++] = idx[b++];
    }
    for (int64_t i = 0; i < n; ++i) idx[i] = tmp[i];
  }
}

// ---- the whole plan (prefill_plan_packed) ----

// one work row as the work tensor holds it, (batch, m_block, q_head, key), key = 0xffffffff - cost while sorting
// (0 in the work tensor)
// (ascending = heaviest first); the sort is within a section, so the section is not part of the key
struct Item {
  int32_t b, m, h;
  uint32_t key;
};

// stable natural merge sort of a[0:n] by key (adjacent maximal runs merged pairwise per pass, the left one first
// among equal keys), ping-ponging with b; returns the buffer that holds the result
Item* merge_sort(Item* a, Item* b, int64_t n) {
  for (;;) {
    int64_t first = 1;
    while (first < n && a[first - 1].key <= a[first].key) ++first;
    if (first >= n) return a;
    int64_t lo = 0, mid = first;
    for (;;) {
      int64_t hi = mid;
      if (mid < n) {
        ++hi;
        while (hi < n && a[hi - 1].key <= a[hi].key) ++hi;
      }
      int64_t x = lo, y = mid, k = lo;
      while (x < mid && y < hi) {  // the right run's item only when its key is smaller (stable), without a branch
        const bool right = a[y].key < a[x].key;
        b[k++] = a[right ? y : x];
        y += right;
        x += !right;
      }
      while (x < mid) b[k++] = a[x++];
      while (y < hi) b[k++] = a[y++];
      if (hi >= n) break;
      lo = hi;
      mid = lo + 1;
      while (mid < n && a[mid - 1].key <= a[mid].key) ++mid;
    }
    Item* t = a;
    a = b;
    b = t;
  }
}

// The slots' packed (time << shift | slot) keys (ordered as (time, slot) tuples) in a loser tree: slot s is leaf
// n + s of a heap-shaped tree of 2n - 1 nodes (children of j: 2j, 2j + 1), internal node j < n holds the larger
// key of the match there, `win` the smallest of all. Giving the winner's slot a new key replays the matches on
// its leaf's path: the nodes are known before any comparison, so the loads do not wait on each other (a binary
// heap's do). Any priority queue pops the same (time, slot) sequence, the order being total, so the assignment
// equals heapq's.
struct LoserTree {
  uint64_t* node;  // [n]: node[0] unused
  int64_t n;
  int shift;
  uint64_t win;

  void init(uint64_t* tmp) {  // tmp: 2n words
    for (int64_t s = 0; s < n; ++s) tmp[n + s] = uint64_t(s);
    for (int64_t j = n - 1; j >= 1; --j) {
      const uint64_t a = tmp[2 * j], b = tmp[2 * j + 1];
      tmp[j] = a < b ? a : b;
      node[j] = a < b ? b : a;
    }
    win = tmp[1];
  }
  int64_t take(int64_t cost) {  // the winner's slot, whose key grows by cost
    const int64_t slot = int64_t(win & ((uint64_t(1) << shift) - 1));
    uint64_t cur = win + (uint64_t(cost) << shift);
    for (int64_t j = (n + slot) >> 1; j >= 1; j >>= 1) {
      const uint64_t l = node[j];
      const bool lower = l < cur;
      node[j] = lower ? cur : l;
      cur = lower ? l : cur;
    }
    win = cur;
    return slot;
  }
  int64_t span() const {
    uint64_t t = win;
    for (int64_t j = 1; j < n; ++j) t = node[j] > t ? node[j] : t;
    return int64_t(t >> shift);
  }
};

inline int64_t tile_cost(int64_t ql, int64_t kl, int64_t m, int64_t tile_m, bool causal) {
  if (!causal) return kl + 1;
  int64_t end = (m + 1) * tile_m < ql ? (m + 1) * tile_m : ql;
  int64_t c = end + kl - ql;
  c = c < 0 ? 0 : (c > kl ? kl : c);
  return c + 1;
}

}  // namespace

extern "C" {

int64_t prefill_plan_abi(void) { return 2; }

// costs[n_rows]; outputs order[n_rows] (the rows in assignment order) and slot[n_rows] (each assigned row's slot,
// in that order); scratch: heap_time[n_slots], heap_slot[n_slots], tmp[n_rows]. Returns the largest slot load, or
// -1 on bad sizes.
int64_t prefill_list_schedule(const int64_t* costs, int64_t n_rows, int64_t n_slots, int64_t tail, int64_t* order,
                              int64_t* slot, int64_t* heap_time, int32_t* heap_slot, int64_t* tmp) {
  if (n_rows < 0 || n_slots <= 0 || n_slots > (int64_t(1) << 30)) return -1;
  for (int64_t i = 0; i < n_rows; ++i) order[i] = i;
  if (tail > n_rows) tail = n_rows;
  if (tail > 1) sort_desc(order + (n_rows - tail), tmp, tail, costs);
  Heap h{heap_time, heap_slot, n_slots};
  for (int64_t s = 0; s < n_slots; ++s) {  // (0, s) in slot order is already a heap
    heap_time[s] = 0;
    heap_slot[s] = int32_t(s);
  }
  for (int64_t k = 0; k < n_rows; ++k) {
    slot[k] = heap_slot[0];
    heap_time[0] += costs[order[k]];
    h.sift_down(0);
  }
  int64_t span = 0;
  for (int64_t s = 0; s < n_slots; ++s) span = heap_time[s] > span ? heap_time[s] : span;
  return span;
}

// prefill_plan_packed's int64 argument block (cute_attn/prefill.py: the PA_* indices): inputs, then results
enum PlanArg {
  PA_QO,             // int64[batch + 1] query indptr
  PA_KV,             // int64[batch + 1] key indptr (paged: prefix sums of the kv lengths)
  PA_EXTRA,          // int64[batch + 1] a third indptr copied out as int32 (paged: the page indptr), or 0
  PA_BATCH,
  PA_NUM_QO_HEADS,
  PA_NUM_KV_HEADS,
  PA_CAUSAL,
  PA_BASE_M,         // the table's tile_m
  PA_SHORT_M,        // the short-request variant's tile_m, 0: none
  PA_FACTOR,         // its throughput factor, the bits of a double
  PA_ROW_BYTES,      // kv_row_bytes of make_work_list
  PA_SECTION_BYTES,
  PA_SMALL_BYTES,
  PA_OVERHEAD,       // TILE_OVERHEAD_KEYS
  PA_SLOTS,          // num_slots of schedule_work; < 0: one per row
  PA_ONLY,           // 0: best of all, 1: serpentine only, 2: list only (CUTE_ATTN_PREFILL_SCHEDULE)
  PA_OUT,            // int32 output: the work tensor ((head + rows) x 4), then the indptr arrays as int32
  PA_OUT_CAP,        // its length in int32
  PA_SCRATCH,        // int64 scratch, prefill_plan_scratch_len words
  PA_SCRATCH_LEN,
  PA_ROW_CAP,        // the most work rows the buffers hold
  PA_N_ROWS,         // results: work rows
  PA_N_SLOTS,        // slots used (CTAs)
  PA_HOW,            // 0: no rows, 1: serpentine, 2: list
  PA_TAIL,           // the list schedule's tail rows
  PA_TILE_M,         // the tile used
  PA_VARIANT_M,      // choose_tile_m's result (0 or PA_SHORT_M)
  PA_HEAD,           // the slot table's rows
  PA_SPAN,           // the chosen schedule's largest slot load
  PA_LEN
};

int64_t prefill_plan_arg_len(void) { return PA_LEN; }

int64_t prefill_plan_scratch_len(int64_t batch, int64_t row_cap, int64_t slots) {
  int64_t s = slots > 0 && slots < row_cap ? slots : row_cap;
  if (s < 1) s = 1;
  return 3 * batch + 7 * row_cap + 24 * s + 16;
}

// The plan of cute_attn.prefill._make_plan's host part for one batch: returns 0, or a negative code where it
// declines (bad arguments or buffers too small: the caller then plans in Python, which raises or plans).
int prefill_plan_packed(int64_t* a) {
  const int64_t* qo = reinterpret_cast<const int64_t*>(a[PA_QO]);
  const int64_t* kv = reinterpret_cast<const int64_t*>(a[PA_KV]);
  const int64_t* extra = reinterpret_cast<const int64_t*>(a[PA_EXTRA]);
  const int64_t batch = a[PA_BATCH], hq = a[PA_NUM_QO_HEADS], hk = a[PA_NUM_KV_HEADS];
  const bool causal = a[PA_CAUSAL] != 0;
  const int64_t base_m = a[PA_BASE_M], short_m = a[PA_SHORT_M];
  double factor;
  __builtin_memcpy(&factor, &a[PA_FACTOR], sizeof factor);
  const int64_t row_bytes = a[PA_ROW_BYTES], section_bytes = a[PA_SECTION_BYTES], small_bytes = a[PA_SMALL_BYTES];
  const int64_t overhead = a[PA_OVERHEAD], slots_arg = a[PA_SLOTS], only = a[PA_ONLY];
  int32_t* out = reinterpret_cast<int32_t*>(a[PA_OUT]);
  const int64_t out_cap = a[PA_OUT_CAP], row_cap = a[PA_ROW_CAP];
  int64_t* scratch = reinterpret_cast<int64_t*>(a[PA_SCRATCH]);
  if (batch < 0 || hq <= 0 || hk <= 0 || hq % hk || base_m <= 0 || short_m < 0 || row_cap < 0 || only < 0 ||
      only > 2 || row_bytes < 0 || overhead < 0 || !qo || !kv || !out || !scratch)
    return -1;
  if (a[PA_SCRATCH_LEN] < prefill_plan_scratch_len(batch, row_cap, slots_arg)) return -2;
  const int64_t group = hq / hk;
  const int64_t lim = (int64_t(1) << 31) - 1;
  if (qo[0] != 0 || kv[0] != 0) return -3;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t ql = qo[b + 1] - qo[b], kl = kv[b + 1] - kv[b];
    if (ql < 0 || kl < 0 || qo[b + 1] > lim || kv[b + 1] > lim) return -3;
    if (extra && (extra[b + 1] < extra[b] || extra[b + 1] > lim)) return -3;
  }
  if (hq > lim) return -1;

  // choose_tile_m
  int64_t tile_m = base_m, variant = 0;
  if (short_m > 0) {
    int64_t pb = 0, ps = 0;
    for (int64_t b = 0; b < batch; ++b) {
      int64_t ql = qo[b + 1] - qo[b];
      pb += (ql + base_m - 1) / base_m * base_m;
      ps += (ql + short_m - 1) / short_m * short_m;
    }
    if (double(pb) > factor * double(ps)) tile_m = variant = short_m;
  }

  // scratch (prefill_plan_scratch_len words)
  int64_t S = slots_arg > 0 && slots_arg < row_cap ? slots_arg : row_cap;
  if (S < 1) S = 1;
  int64_t* req = scratch;                                  // batch
  int64_t* req_tmp = req + batch;                          // batch
  int64_t* req_key = req_tmp + batch;                      // batch
  Item* items = reinterpret_cast<Item*>(req_key + batch);  // row_cap x 2 words
  Item* items_tmp = items + row_cap;                       // row_cap x 2 words
  int64_t* cost = reinterpret_cast<int64_t*>(items_tmp + row_cap);  // row_cap (first: a request's m order)
  int64_t* pslot = cost + row_cap;                         // row_cap (first: the sections' first rows)
  int64_t* heap_time = pslot + row_cap;                    // 4S + 4 (the packed heap) or S + S (time, slot)
  int32_t* heap_slot = reinterpret_cast<int32_t*>(heap_time + S);
  int64_t* saved_time = heap_time + 4 * S + 4;             // 4S + 4
  int64_t* loads = saved_time + 4 * S + 4;                 // S
  int64_t* counts = loads + S;                             // S
  int64_t* cur_ord = counts + S;                           // 2S
  int64_t* cur_slot = cur_ord + 2 * S;                     // 2S
  int64_t* best_ord = cur_slot + 2 * S;                    // 2S
  int64_t* best_slot = best_ord + 2 * S;                   // 2S
  int64_t* sort_tmp = best_slot + 2 * S;                   // 2S

  // make_work_list: requests by q_len * (kv_len + 1), largest first (stable)
  for (int64_t b = 0; b < batch; ++b) {
    req[b] = b;
    req_key[b] = (qo[b + 1] - qo[b]) * (kv[b + 1] - kv[b] + 1);
  }
  sort_desc(req, req_tmp, batch, req_key);
  // the pairs of section 0 (K/V of small_bytes or more: all of a request's pairs or none) take the first rows,
  // the sections 1, 2, ... (in generation order: already ascending) the others
  int64_t big_rows = 0, n_rows = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t ql = qo[b + 1] - qo[b], kl = kv[b + 1] - kv[b];
    const int64_t rows_b = (ql + tile_m - 1) / tile_m * hq;
    if (rows_b > row_cap - n_rows) return -4;
    n_rows += rows_b;
    if (!row_bytes || kl * row_bytes >= small_bytes) big_rows += rows_b;
  }
  // the rows are made in items_tmp and sorted into items, one section at a time
  Item* tmpl = items;              // a request's cost groups
  int64_t* sec_start = pslot;      // sec_start[s - 1]: the first row of section s
  Item* at_big = items_tmp;
  Item* at_small = items_tmp + big_rows;
  int64_t section = 0, current = 0;
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t b = req[i], ql = qo[b + 1] - qo[b], kl = kv[b + 1] - kv[b];
    if (ql == 0) continue;
    const int64_t nm = (ql + tile_m - 1) / tile_m, unit = kl * row_bytes;
    const bool big = !row_bytes || unit >= small_bytes;
    // the request's m blocks heaviest first, stable: costs do not fall with m, so groups of equal cost from the
    // last m, m ascending within one; entry e: (key, first entry of its group, m, group size) (the template is
    // written where the rows go later: at or after the request's first row, never past the ones made so far)
    Item* t = tmpl + ((big ? at_big - items_tmp : at_small - items_tmp));
    int64_t e = 0;
    for (int64_t hi = nm - 1; hi >= 0;) {
      const int64_t c = tile_cost(ql, kl, hi, tile_m, causal);
      int64_t lo = hi;
      while (lo > 0 && tile_cost(ql, kl, lo - 1, tile_m, causal) == c) --lo;
      const uint32_t key = uint32_t(0xffffffffu - uint64_t(c));
      const int32_t first = int32_t(e), size = int32_t(hi - lo + 1);
      for (int64_t m = lo; m <= hi; ++m) t[e++] = Item{first, int32_t(m), size, key};
      hi = lo - 1;
    }
    // the request's pairs (kv heads) in blocks, one per section (a big request: one block). A block of P pairs
    // sorted stably heaviest first is each cost group of its pairs in turn (kv head order), m ascending, then
    // query heads: pair p's entry e is the block's row (first * P + p * size + e - first) * group + g
    for (int64_t k0 = 0; k0 < hk;) {
      int64_t k1 = hk;
      if (!big) {
        if (section == 0 || current + unit > section_bytes) {
          sec_start[section++] = at_small - items_tmp;
          current = 0;
        }
        current += unit;
        for (k1 = k0 + 1; k1 < hk && current + unit <= section_bytes; ++k1) current += unit;
      }
      Item* dst = big ? at_big : at_small;
      const int64_t P = k1 - k0;
      for (int64_t p = 0; p < P; ++p) {
        const int32_t h0 = int32_t((k0 + p) * group);
        if (group == 1) {
          for (int64_t j = 0; j < nm; ++j) {
            const Item& x = t[j];
            dst[x.b * (P - 1) + p * x.h + j] = Item{int32_t(b), x.m, h0, x.key};
          }
        } else {
          for (int64_t j = 0; j < nm; ++j) {
            const Item& x = t[j];
            Item* d = dst + (x.b * (P - 1) + p * x.h + j) * group;
            for (int32_t g = 0; g < int32_t(group); ++g) d[g] = Item{int32_t(b), x.m, h0 + g, x.key};
          }
        }
      }
      (big ? at_big : at_small) = dst + P * nm * group;
      k0 = k1;
    }
  }
  // each section heaviest first (stable): its blocks are sorted runs, merged from items_tmp into items
  auto sort_into = [&](int64_t lo, int64_t hi) {
    Item* r = merge_sort(items_tmp + lo, items + lo, hi - lo);
    if (r != items + lo)
      for (int64_t i = lo; i < hi; ++i) items[i] = items_tmp[i];
  };
  sort_into(0, big_rows);
  for (int64_t s = 0; s < section; ++s) sort_into(sec_start[s], s + 1 < section ? sec_start[s + 1] : n_rows);
  const Item* rows = items;

  a[PA_TILE_M] = tile_m;
  a[PA_VARIANT_M] = variant;
  const int64_t n = slots_arg < 0 || slots_arg > n_rows ? n_rows : slots_arg;
  const int64_t head = n_rows ? (n + 4) / 4 : 0;
  const int64_t n_ind = extra ? 3 : 2;
  if ((head + n_rows) * 4 + n_ind * (batch + 1) > out_cap) return -5;
  int32_t* ind_out = out + (head + n_rows) * 4;
  for (int64_t b = 0; b <= batch; ++b) {
    ind_out[b] = int32_t(qo[b]);
    ind_out[batch + 1 + b] = int32_t(kv[b]);
    if (extra) ind_out[2 * (batch + 1) + b] = int32_t(extra[b]);
  }
  a[PA_N_ROWS] = n_rows;
  a[PA_HEAD] = head;
  if (n_rows == 0) {
    a[PA_N_SLOTS] = a[PA_HOW] = a[PA_TAIL] = a[PA_SPAN] = 0;
    return 0;
  }

  // schedule_work: the serpentine deal's loads and the bound
  int64_t total = 0, max_cost = 0;
  for (int64_t s = 0; s < n; ++s) loads[s] = 0;
  for (int64_t i = 0; i < n_rows; ++i) {
    const int64_t c = int64_t(0xffffffffu - rows[i].key) + overhead;
    cost[i] = c;
    total += c;
    max_cost = c > max_cost ? c : max_cost;
  }
  for (int64_t i = 0, r = 0; i < n_rows; i += n, ++r) {  // round r: rows i .. i + n - 1
    const int64_t len = n_rows - i < n ? n_rows - i : n;
    if (r % 2 == 0)
      for (int64_t col = 0; col < len; ++col) loads[col] += cost[i + col];
    else
      for (int64_t col = 0; col < len; ++col) loads[n - 1 - col] += cost[i + col];
  }
  int64_t best = 0;
  for (int64_t s = 0; s < n; ++s) best = loads[s] > best ? loads[s] : best;
  const int64_t bound = (total + n - 1) / n > max_cost ? (total + n - 1) / n : max_cost;
  int64_t how = 1, tail_rows = 0;
  const bool tries = !(only == 1 || (only == 0 && double(best) <= double(bound) * 1.002));
  const int64_t prefix = n_rows - (2 * n < n_rows ? 2 * n : n_rows);  // rows every list schedule takes in order
  if (tries) {
    // the slots' (finish time, slot) as packed keys in a loser tree where every time fits (times <= total), else
    // a heap of (time, slot) pairs
    int shift = 0;
    while ((int64_t(1) << shift) < n) ++shift;
    const bool packed = total < (int64_t(1) << (62 - shift));
    LoserTree lt{reinterpret_cast<uint64_t*>(heap_time), n, shift, 0};
    Heap h{heap_time, heap_slot, n};
    auto take = [&](int64_t c) -> int64_t {  // the next row (cost c) goes to the slot that frees first
      if (packed) return lt.take(c);
      const int64_t slot = heap_slot[0];
      heap_time[0] += c;
      h.sift_down(0);
      return slot;
    };
    if (packed) {
      lt.init(reinterpret_cast<uint64_t*>(saved_time));
    } else {
      for (int64_t s = 0; s < n; ++s) {  // (0, s) in slot order is already a heap
        heap_time[s] = 0;
        heap_slot[s] = int32_t(s);
      }
    }
    for (int64_t s = 0; s < n; ++s) counts[s] = 0;  // the prefix's rows per slot
    if (packed)
      for (int64_t k = 0; k < prefix; ++k) ++counts[pslot[k] = lt.take(cost[k])];
    else
      for (int64_t k = 0; k < prefix; ++k) ++counts[pslot[k] = take(cost[k])];
    const int64_t words = packed ? n : 2 * S;  // the queue's state
    for (int64_t w = 0; w < words; ++w) saved_time[w] = heap_time[w];
    const uint64_t saved_win = lt.win;
    for (int64_t rounds = 0; rounds < 3; ++rounds) {  // LIST_TAIL_ROUNDS
      const int64_t tail = rounds * n, t = tail < n_rows ? tail : n_rows, cut = n_rows - t;
      for (int64_t k = prefix; k < n_rows; ++k) cur_ord[k - prefix] = k;
      if (tail > 1) sort_desc(cur_ord + (cut - prefix), sort_tmp, t, cost);
      for (int64_t w = 0; w < words; ++w) heap_time[w] = saved_time[w];
      lt.win = saved_win;
      for (int64_t k = prefix; k < n_rows; ++k) cur_slot[k - prefix] = take(cost[cur_ord[k - prefix]]);
      int64_t span = 0;
      if (packed)
        span = lt.span();
      else
        for (int64_t s = 0; s < n; ++s) span = heap_time[s] > span ? heap_time[s] : span;
      if (span < best || (only == 2 && how == 1)) {
        best = span;
        how = 2;
        tail_rows = tail;
        int64_t* x = best_ord;
        best_ord = cur_ord;
        cur_ord = x;
        x = best_slot;
        best_slot = cur_slot;
        cur_slot = x;
      }
    }
  }

  // the slot table, then each slot's rows in assignment order
  if (how == 1) {
    for (int64_t s = 0; s < n; ++s) {
      // rows i with i % n == s in even rounds or n - 1 - s in odd ones
      const int64_t full = n_rows / n, rest = n_rows - full * n;
      counts[s] = full + (full % 2 == 0 ? (s < rest) : (n - 1 - s < rest));
    }
  } else {  // (the prefix's counts are there)
    for (int64_t k = prefix; k < n_rows; ++k) ++counts[best_slot[k - prefix]];
  }
  for (int64_t i = 0; i < head * 4; ++i) out[i] = 0;
  out[0] = int32_t(head);
  int64_t acc = head;
  for (int64_t s = 0; s < n; ++s) {
    const int64_t start = acc;
    acc += counts[s];
    out[s + 1] = int32_t(acc);
    counts[s] = start;  // now the slot's next row
  }
  Item* out_rows = reinterpret_cast<Item*>(out);  // (the work tensor's rows, 16-byte aligned: head is whole rows)
  auto put = [&](int64_t row, int64_t s) {
    Item x = rows[row];
    x.key = 0;
    out_rows[counts[s]++] = x;
  };
  if (how == 1) {
    for (int64_t i = 0, r = 0; i < n_rows; i += n, ++r) {
      const int64_t len = n_rows - i < n ? n_rows - i : n;
      for (int64_t col = 0; col < len; ++col) put(i + col, r % 2 == 0 ? col : n - 1 - col);
    }
  } else {
    for (int64_t k = 0; k < prefix; ++k) put(k, pslot[k]);
    for (int64_t k = prefix; k < n_rows; ++k) put(best_ord[k - prefix], best_slot[k - prefix]);
  }
  a[PA_N_SLOTS] = n;
  a[PA_HOW] = how;
  a[PA_TAIL] = tail_rows;
  a[PA_SPAN] = best;
  return 0;
}

}  // extern "C"
