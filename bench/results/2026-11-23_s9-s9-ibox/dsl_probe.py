# DSL probe (CPU, no GPU): one TMA box of a 16-row (or 64-row) page piece into the interleaved K/V stage, in a
# minimal kernel; prints the layouts the DSL derives and the PTX cp.async.bulk.tensor lines (one 5-d copy per box).
#   CUTE_DSL_KEEP=ptx python3 dsl_probe.py [COLS=128] [BOX=16]   (the DSL writes its .ptx into the working directory)
import os, sys, time
os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")
import cutlass, cutlass.cute as cute
import cutlass.utils.hopper_helpers as sm90_utils
from cutlass import Int32, BFloat16
from cutlass.cute.nvgpu import cpasync, warpgroup
from cutlass.tensor_utils import LayoutEnum
import cutlass.pipeline as pipeline

T0 = time.time()
def log(*a): print(f"[{time.time()-T0:6.1f}]", *a, flush=True)

ROWS, COLS, BOX = 128, int(sys.argv[1]) if len(sys.argv) > 1 else 128, int(sys.argv[2]) if len(sys.argv) > 2 else 16

AC = 64
HALVES = COLS // AC
dtype = BFloat16

def kv_layout():
    atom = warpgroup.make_smem_layout_atom(sm90_utils.get_smem_layout_atom(LayoutEnum.ROW_MAJOR, dtype, COLS), dtype)
    return cute.tile_to_shape(atom, (ROWS, COLS, 2), order=(1, 0, 2))

def ibox_shape(): return (AC, 8, HALVES, BOX // 8)
def ibox_order(): return cute.make_layout(ibox_shape(), stride=(BOX, 1, BOX * AC, 8))

class K:
    @cute.jit
    def __call__(self, mK: cute.Tensor, stream):
        sl = kv_layout()
        log("stage layout", sl)
        box_smem = cute.composition(cute.composition(cute.select(sl, mode=[0, 1]), (cute.make_layout(BOX), cute.make_layout(COLS))), ibox_order())
        log("box smem", box_smem)
        t = mK
        view = cute.make_tensor(t.iterator, cute.make_layout(
            (AC, 8, HALVES, t.shape[0] * Int32(t.stride[0] // (8 * t.stride[1])), t.shape[2]),
            stride=(t.stride[3], t.stride[1], AC * t.stride[3], 8 * t.stride[1], t.stride[2])))
        log("view", view.layout)
        tma, g = cpasync.make_tiled_tma_atom(cpasync.CopyBulkTensorTileG2SOp(), view, box_smem, ibox_shape())
        log("tma atom", g.layout)
        self.kernel(tma, g, sl).launch(grid=(1, 1, 1), block=(128, 1, 1), stream=stream)

    @cute.kernel
    def kernel(self, tma: cute.CopyAtom, g: cute.Tensor, sl: cute.ComposedLayout):
        smem = cutlass.utils.SmemAllocator()
        sK = smem.allocate_tensor(dtype, sl.outer, byte_alignment=1024, swizzle=sl.inner)
        bar = smem.allocate_array(cutlass.Int64, 2)
        gX = g[None, None, None, None, 3]
        page = Int32(5)
        s_box = cute.local_tile(sK[None, None, 1], (BOX, COLS), (2, 0))
        log("s_box", s_box.layout)
        g_box = cute.local_tile(cute.domain_offset((0, 0, 0, page), gX), ibox_shape(), (0, 0, 0, 0))
        log("g_box", g_box.layout)
        sb = cute.composition(s_box, ibox_order())
        log("sb", sb.layout)
        t_s, t_g = cpasync.tma_partition(tma, 0, cute.make_layout(1), cute.group_modes(sb, 0, 4), cute.group_modes(g_box, 0, 4))
        log("t_s", t_s.layout, "t_g", t_g.layout)
        cute.copy(tma, t_g, t_s, tma_bar_ptr=bar)
        log("copied")

sym = cute.sym_int
def s64(): return cute.sym_int64(divisibility=8)
k = cute.runtime.make_fake_tensor(dtype, (sym(), sym(), sym(), COLS), stride=(s64(), s64(), s64(), 1), assumed_align=16)
stream = cute.runtime.make_fake_stream(use_tvm_ffi_env_stream=True)
c = cute.compile(K(), k, stream, options="--enable-tvm-ffi --gpu-arch sm_90a")
log("compiled")
ptx = getattr(c, "__ptx__", None)
if ptx and os.path.isfile(ptx): ptx = open(ptx).read()
if ptx:
    import re
    for l in ptx.splitlines():
        if "cp.async.bulk" in l: print(l.strip())
