"""Shared benchmark plumbing: timing, ceilings, tables, JSON. Runs on the GPU host (torch + triton)."""

from __future__ import annotations

import contextlib
import datetime
import importlib
import json
import os
import platform

import torch


def time_ms(fn, warmup_ms: float = 25, rep_ms: float = 200) -> float:
    """Median time of ``fn()`` in ms, with CUDA events (triton's do_bench when available)."""
    try:
        from triton.testing import do_bench

        return float(do_bench(fn, warmup=warmup_ms, rep=rep_ms, return_mode="median"))
    except ImportError:
        for _ in range(5):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(50):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
        return sorted(times)[len(times) // 2]


FLUSH_MODES = ("zero", "read")
_FLUSH_BUF: list = []


def time_ms_flush(fn, flush: str = "zero", warmup_ms: float = 25, rep_ms: float = 200) -> float:
    """Median time of ``fn()`` in ms with L2 evicted before every call. ``zero``: triton's do_bench (it zeroes a
    256 MB buffer before each call, so ~50 MB of dirty lines are written back while ``fn`` runs); ``read``: the
    same scheme (CUDA events around ``fn`` only, one eviction per call, do_bench's repetition count) but L2 is
    evicted by reading a 256 MB buffer, which leaves only clean lines."""
    if flush == "zero":
        return time_ms(fn, warmup_ms, rep_ms)
    if flush != "read":
        raise ValueError(f"flush must be one of {FLUSH_MODES}, got {flush!r}")
    if not _FLUSH_BUF:
        _FLUSH_BUF.append((torch.ones(64 << 20, dtype=torch.float32, device="cuda"),
                           torch.empty((), dtype=torch.float32, device="cuda")))
    buf, sink = _FLUSH_BUF[0]
    fn()
    torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for _ in range(5):
        torch.sum(buf, 0, out=sink)
        fn()
    b.record()
    torch.cuda.synchronize()
    flush_est = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    flush_est[0].record()
    torch.sum(buf, 0, out=sink)
    flush_est[1].record()
    torch.cuda.synchronize()
    est = max(a.elapsed_time(b) / 5 - flush_est[0].elapsed_time(flush_est[1]), 1e-3)  # ms of fn alone
    n_warm = max(1, int(warmup_ms / est))
    n_rep = max(1, int(rep_ms / est))  # do_bench's counts (they leave the flush out of the estimate)
    for _ in range(n_warm):
        fn()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(n_rep)]
    for s, e in ev:
        torch.sum(buf, 0, out=sink)
        s.record()
        fn()
        e.record()
    torch.cuda.synchronize()
    t = sorted(s.elapsed_time(e) for s, e in ev)
    return t[len(t) // 2]


TIMING_MODES = ("paired", "rounds")


def _evictor(flush: str):
    """A callable that evicts L2 the way ``time_ms_flush`` does: ``zero`` zeroes a 256 MB buffer (triton's do_bench;
    dirty lines are written back while the next kernel runs), ``read`` reads one (clean lines)."""
    if flush not in FLUSH_MODES:
        raise ValueError(f"flush must be one of {FLUSH_MODES}, got {flush!r}")
    if flush == "zero":
        buf = torch.empty(256 << 20, dtype=torch.int8, device="cuda")
        return buf.zero_
    if not _FLUSH_BUF:
        _FLUSH_BUF.append((torch.ones(64 << 20, dtype=torch.float32, device="cuda"),
                           torch.empty((), dtype=torch.float32, device="cuda")))
    buf, sink = _FLUSH_BUF[0]
    return lambda: torch.sum(buf, 0, out=sink)


def compare(fns: dict, rounds: int = 3, rep_ms: float = 80, warm_s: float = 1.5, flush: str = "zero",
            mode: str | None = None) -> dict:
    """Time the callables of ``fns`` (name -> fn) side by side, fairly under a power-capped clock.

    An H100 starts a burst at ~1980 MHz and, about 1.5 s into it, reaches its 700 W limit and drops to
    1560-1770 MHz (paged-v5, session 3: ``nvidia-smi`` log every 100 ms), and the capped clock keeps moving: the
    median of one 80 ms window of a 16k prefill moved by 5-15 % between windows of one process (session 7, call 1).
    The fns first run round-robin for ``warm_s`` seconds (steady power), then are timed in ``rounds`` rounds of about
    ``rep_ms`` ms per fn each. ``mode`` (default ``TIMING``):

    - ``rounds`` (the default, every published figure): each fn's round is one ``time_ms_flush`` window of its own,
      the fns one after another, the order reversed every other round. Each kernel runs at the clock its own power
      draw sets, as it does when it runs alone in production.
    - ``paired``: inside a round the fns alternate call by call (the order reversed every other call), each call
      timed alone by CUDA events after an L2 eviction, so every fn runs at one shared clock. The rounds agree to
      <1 %, but the shared clock is set by the mix: next to FA2's slow, cooler kernel a 16k prefill ran 12-17 %
      faster than in its own windows (hd256 full 806 TFLOP/s, above the ~730 of a bf16 GEMM run alone) and FA2 8 %
      slower (session 7, call 5). It compares work per clock, not sustained throughput; not for the tables.

    Returns ``{name: [ms of round 0, ms of round 1, ...]}``."""
    import time

    mode = mode or TIMING
    if mode not in TIMING_MODES:
        raise ValueError(f"mode must be one of {TIMING_MODES}, got {mode!r}")
    names = list(fns)
    t0 = time.perf_counter()
    while True:
        for n in names:
            fns[n]()
        torch.cuda.synchronize()
        if time.perf_counter() - t0 >= warm_s:
            break
    per = {n: [] for n in names}
    if mode == "rounds":
        for r in range(rounds):
            for n in (names if r % 2 == 0 else names[::-1]):
                per[n].append(time_ms_flush(fns[n], flush, warmup_ms=10, rep_ms=rep_ms))
        return per
    evict = _evictor(flush)
    est = {}
    for n in names:  # one call each, for the number of calls per round
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        evict()
        a.record()
        fns[n]()
        b.record()
        torch.cuda.synchronize()
        est[n] = max(a.elapsed_time(b), 1e-3)
    calls = max(3, int(rep_ms / max(est.values())))
    for r in range(rounds):
        ev = {n: [] for n in names}
        for i in range(calls):
            for n in (names if (r + i) % 2 == 0 else names[::-1]):
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                evict()
                a.record()
                fns[n]()
                b.record()
                ev[n].append((a, b))
        torch.cuda.synchronize()
        for n in names:
            per[n].append(median([a.elapsed_time(b) for a, b in ev[n]]))
    return per


# the timing mode of every bench's ``compare`` (``--timing`` on the command line of those that take it)
TIMING = "rounds"


def timing_arg(parser) -> None:
    """``--timing {paired,rounds}`` (see :func:`compare`)."""
    parser.add_argument("--timing", choices=TIMING_MODES, default=TIMING,
                        help="rounds: one window per fn per round (default); paired: the fns alternate call by call "
                        "at one shared clock (work per clock, not sustained throughput)")


def use_timing(mode: str) -> None:
    global TIMING
    if mode not in TIMING_MODES:
        raise ValueError(f"timing must be one of {TIMING_MODES}, got {mode!r}")
    TIMING = mode


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def ratio(per: dict, a: str, b: str) -> float:
    """Median over rounds of time(b) / time(a): > 1 means ``a`` is faster than ``b`` (same round, same clock)."""
    return median([tb / ta for ta, tb in zip(per[a], per[b])])


def copy_bandwidth_gbs(nbytes: int = 2 << 30) -> float:
    """Device-to-device copy, counting bytes read plus bytes written."""
    src = torch.empty(nbytes // 2, dtype=torch.bfloat16, device="cuda").normal_()
    dst = torch.empty_like(src)
    ms = time_ms(lambda: dst.copy_(src))
    del src, dst
    return 2 * nbytes / ms / 1e6


def device_info() -> dict:
    p = torch.cuda.get_device_properties(0)
    return {
        "device": torch.cuda.get_device_name(0),
        "sms": p.multi_processor_count,
        "torch": torch.__version__,
        "timing": TIMING,
        "cuda": torch.version.cuda,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(),
    }


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    def fmt(v):
        return f"{v:.1f}" if isinstance(v, float) else str(v)

    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        out.append("| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |")
    return "\n".join(out)


def write_json(path: str | None, payload: dict) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(payload, f, indent=1)


def profile_launch(label: str, range_name: str, fn) -> float:
    """One warm-up call of ``fn`` outside any range, then one call inside the NVTX range ``range_name`` (for
    ``ncu --nvtx --nvtx-include "<range_name>/"``), timed with CUDA events; prints and returns its us."""
    fn()
    torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.nvtx.range_push(range_name)
    a.record()
    fn()
    b.record()
    torch.cuda.nvtx.range_pop()
    torch.cuda.synchronize()
    us = a.elapsed_time(b) * 1e3
    print(f"{label}: {us:.1f} us", flush=True)
    return us


class ArtifactBuild:
    """The kernels of one artifact directory (``python -m cute_attn.build --out DIR``, e.g. with a build-time switch
    set), loaded on first use whatever the running checkout's sources are (the manifest's source hash is not checked),
    so builds of one source with different switches compare in one process. ``resolve`` may map a spec the directory
    lacks onto one it has; ``kernels`` records what each asked spec ran."""

    def __init__(self, name: str, directory: str):
        self.name, self.directory, self.fns, self.kernels = name, directory, {}, {}

    def resolve(self, spec, manifest):
        return spec

    def loaded(self, spec) -> None:
        """Called once per kernel loaded (a subclass may print it)."""

    def __call__(self, spec):
        fn = self.fns.get(spec.name)
        if fn is None:
            from cute_attn.artifacts import Manifest, _load_library

            m = Manifest.read(self.directory, spec.arch)
            asked = spec.name
            spec = self.resolve(spec, m)
            if spec.name not in m.entries:
                raise FileNotFoundError(f"{self.name}: {spec.name} not in {self.directory}")
            fn = self.fns[asked] = _load_library(m.path(spec), spec.name)
            self.kernels[asked] = spec.name
            self.loaded(spec)
        return fn


def route_get_kernel(module):
    """Replace ``module.get_kernel`` with one that asks the :class:`ArtifactBuild` in effect (else the original);
    returns ``with_build(build, fn)``, which wraps ``fn`` so that its calls load their kernels from ``build``."""
    current = {"build": None}
    original = module.get_kernel

    def get_kernel(spec):
        build = current["build"]
        return build(spec) if build is not None else original(spec)

    module.get_kernel = get_kernel

    def with_build(build, fn):
        def call():
            current["build"] = build
            try:
                return fn()
            finally:
                current["build"] = None
        return call

    return with_build


@contextlib.contextmanager
def forced_tile(tile_m):
    """Plans made inside take the variant ``tile_m`` (0: the table tile; None: the plan's own choice), as the tests
    force it (``cute_attn.prefill.choose_tile_m`` replaced); ``"nosplit"``: the plan's choice without the split of the
    last round (``CUTE_ATTN_PREFILL_SPLIT=0``)."""
    P = importlib.import_module("cute_attn.prefill")  # (the package's ``prefill`` is the function)
    saved, saved_env = P.choose_tile_m, os.environ.get(P.SPLIT_ENV)
    if tile_m == "nosplit":
        os.environ[P.SPLIT_ENV] = "0"
    elif tile_m is not None:
        P.choose_tile_m = lambda *a: tile_m
    try:
        yield
    finally:
        P.choose_tile_m = saved
        if saved_env is None:
            os.environ.pop(P.SPLIT_ENV, None)
        else:
            os.environ[P.SPLIT_ENV] = saved_env
