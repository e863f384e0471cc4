"""Hand-issued TMA loads of one paged K/V box (``CUTE_ATTN_PAGED_ROW_TMA=asm``: the 1-row boxes of page 1,
bench/NOTES-prefill-paged.md 17; first written for session 5's ``BOX_LEAN`` switch, section 14, removed with it in
session 6 and restored here from 2cf5b83).

A box is ``col_blocks`` TMA loads (one per 128-byte column block of the 128-byte swizzle: hd128 = 2). Through
``cute.copy`` every one of those loads re-derives its descriptor address (``cvta.param`` of the kernel parameter:
ULDC.64 + 2 UIADD3 in SASS), its barrier address and its coordinate registers (section 14: ~19 instructions per hd128
16-row box; section 17: ~16 per 1-row box). Here a box is one inline-asm statement: all its column blocks'
``cp.async.bulk.tensor.4d`` with the descriptor address taken once per producer (:func:`tma_desc_addr`), the shared and
barrier addresses as 32-bit operands and the column-block offsets as immediates, so ptxas sees one descriptor, one
barrier and one coordinate set per box.
"""

from __future__ import annotations

from cutlass import Int32, Int64
from cutlass._mlir import ir
from cutlass._mlir.dialects import llvm
from cutlass._mlir.dialects import cute_nvgpu as _cute_nvgpu_ir
from cutlass.cutlass_dsl import dsl_user_op


@dsl_user_op
def tma_desc_addr(atom, *, loc=None, ip=None) -> Int64:
    """Generic address of a (non-multicast, tiled) TMA load atom's descriptor, the kernel parameter ``cute.copy``
    passes to ``cp.async.bulk.tensor``."""
    exec_value = _cute_nvgpu_ir.atom_make_exec_tma(atom._trait.value, loc=loc, ip=ip)
    field = ir.Attribute.parse("#cute_nvgpu.atom_copy_field_tmaload<tma_descriptor_ptr>")
    ptr_type = ir.Type.parse("!cute.ptr<!cute_nvgpu.tma_descriptor_tiled, generic, align<64>>")
    ptr = _cute_nvgpu_ir.atom_get_value(ptr_type, exec_value, field, loc=loc, ip=ip)  # the DSL wraps it: a Pointer
    return ptr.toint(loc=loc, ip=ip)


@dsl_user_op
def tma_load_box_4d(
    desc: Int64,
    smem: Int32,
    mbar: Int32,
    c1: Int32,
    c2: Int32,
    c3: Int32,
    col_blocks: int,
    col_elems: int,
    col_block_bytes: int,
    *,
    loc=None,
    ip=None,
):
    """``col_blocks`` 4-d TMA loads onto the barrier at shared ``mbar``: load ``j`` reads coordinates
    ``(j * col_elems, c1, c2, c3)`` of the descriptor at ``desc`` into shared ``smem + j * col_block_bytes``.
    One thread must execute it (TMA is per thread: the caller elects)."""
    lines = ["{", ".reg .b32 col;"]
    for j in range(col_blocks):
        lines.append(f"mov.b32 col, {j * col_elems};")
        lines.append(
            "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes "
            f"[$0+{j * col_block_bytes}], [$1, {{col, $3, $4, $5}}], [$2];"
        )
    lines.append("}")
    llvm.inline_asm(
        None,
        [
            Int32(smem).ir_value(loc=loc, ip=ip),
            Int64(desc).ir_value(loc=loc, ip=ip),
            Int32(mbar).ir_value(loc=loc, ip=ip),
            Int32(c1).ir_value(loc=loc, ip=ip),
            Int32(c2).ir_value(loc=loc, ip=ip),
            Int32(c3).ir_value(loc=loc, ip=ip),
        ],
        "\n".join(lines),
        "r,l,r,r,r,r",
        has_side_effects=True,
        is_align_stack=False,
        asm_dialect=llvm.AsmDialect.AD_ATT,
    )
