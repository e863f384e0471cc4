// Prefill planner helper, compiled: the list schedule of cute_attn.prefill._list_schedule (the Python
// reference, kept as the fallback), the same assignment row for row. Built by `python -m cute_attn.build` into
// the artifact directory as prefill_plan-<source hash>.so and called through ctypes. No allocation beyond the
// caller's buffers, no C++ runtime (libc only).
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

}  // namespace

extern "C" {

int64_t prefill_plan_abi(void) { return 1; }

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

}  // extern "C"
