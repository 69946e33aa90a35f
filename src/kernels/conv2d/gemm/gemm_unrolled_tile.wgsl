// The register tile written out as straight-line code, shared by the implicit GEMM
// (conv2d_gemm_unrolled.wgsl) and Winograd's batched GEMMs (conv2d_winograd_gemm_unrolled.wgsl):
//   a{p}_{g} += sum over taps t, and k in [kBegin, kEnd), of A[aOff{p} + k] * B[(t * K + k) * N + bCol{g}]
// PX rows of A (workgroup-uniform) by CG columns of B a lane, each accumulator a variable of its
// own: for drivers that run a shader as written (SwiftShader keeps loops as loops and a private
// array indexed in a loop in memory, so acc[r][j] would cost a gather and a scatter per
// multiply-add there, while named variables stay in registers).
//
// The reduction runs as ONE loop over steps (a tap and a chunk of columns of A each), not a loop
// over taps around a loop over columns: with the accumulators live across two nested loops,
// SwiftShader took 12-25 s to compile the implicit GEMM, against 0.2-0.3 s for one loop.
// With SUBGROUPS defined the workgroup is one subgroup of SG lanes: lane l loads column k + l of
// each row, and subgroupBroadcast (a constant lane, a register shuffle) hands each of the SG
// values to every lane in turn: one load brings SG columns. The columns left after whole chunks
// of SG run one at a time.
//
// Included in the kernel's entry point, which declares before it: the module consts PX, CG (and
// SG with SUBGROUPS); `lane`; `taps`, `kBegin`, `kEnd`, `K` (B's rows a tap) and `N` (B's row
// stride); `aOff{p}` (row p's offset in A: a var with UNROLLED_TAPS, set here at each tap);
// `bCol{g}` (the lane's columns of B); the accumulators `var a{p}_{g}` of acc_t, zeroed; and
// `fn tileA(i: u32) -> acc_t`, `fn tileB(i: u32) -> acc_t`, its operands by flat index.
// With UNROLLED_TAPS defined (the implicit GEMM: KH x KW taps over the input's pixels) each step
// first moves the rows to its tap (unless the module const POINTWISE is 1: one tap, every pixel
// inside, the offsets set once), by the includer's `tapOffset(ih0_{p}, iw0_{p}, n0_{p}, kh, kw)`,
// which gives OUTSIDE where the tap falls into the zero padding: such a row reads 0, and a step
// where every row does is skipped.
//#if SUBGROUPS
  let chunks = (kEnd - kBegin) / SG;
  for (var step = 0u; step < taps * chunks; step++) {
//#if UNROLLED_TAPS
    let tap = step / chunks;
    let k = kBegin + (step - tap * chunks) * SG;
    if (POINTWISE == 0u) {
      var anyInside = false;
//#repeat p PX
      aOff{p} = tapOffset(ih0_{p}, iw0_{p}, n0_{p}, tap / params.KW, tap % params.KW);
      anyInside = anyInside || aOff{p} != OUTSIDE;
//#end
      // Large atrous rates put most taps entirely into the padding: skip them.
      if (!anyInside) { continue; }
    }
//#repeat p PX
    let x{p} = select(tileA(aOff{p} + k + lane), acc_t(0.0), aOff{p} == OUTSIDE);
//#end
//#else
    let tap = 0u;
    let k = kBegin + step * SG;
//#repeat p PX
    let x{p} = tileA(aOff{p} + k + lane);
//#end
//#endif
//#repeat kk SG
    {
      let bRow = (tap * K + k + {kk}u) * N;
//#repeat g CG
      let w{g} = tileB(bRow + bCol{g});
//#end
//#repeat p PX
      let s{p} = subgroupBroadcast(x{p}, {kk}u);
//#repeat g CG
      a{p}_{g} += s{p} * w{g};
//#end
//#end
    }
//#end
  }
  let first = kBegin + chunks * SG;
//#else
  let first = kBegin;
//#endif
  // The columns left (every column without subgroups), one at a time.
  let rest = kEnd - first;
  for (var step = 0u; step < taps * rest; step++) {
//#if UNROLLED_TAPS
    let tap = step / rest;
    let k = first + (step - tap * rest);
    if (POINTWISE == 0u) {
//#repeat p PX
      aOff{p} = tapOffset(ih0_{p}, iw0_{p}, n0_{p}, tap / params.KW, tap % params.KW);
//#end
    }
//#else
    let tap = 0u;
    let k = first + step;
//#endif
    let bRow = (tap * K + k) * N;
//#repeat g CG
    let w{g} = tileB(bRow + bCol{g});
//#end
//#repeat p PX
//#if UNROLLED_TAPS
    let x{p} = select(tileA(aOff{p} + k), acc_t(0.0), aOff{p} == OUTSIDE);
//#else
    let x{p} = tileA(aOff{p} + k);
//#endif
//#repeat g CG
    a{p}_{g} += x{p} * w{g};
//#end
//#end
  }
