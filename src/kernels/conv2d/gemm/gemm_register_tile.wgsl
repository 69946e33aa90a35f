// The register-tile GEMM's reduction, shared by the implicit GEMM (conv2d_gemm.wgsl) and
// Winograd's batched GEMMs (conv2d_winograd_gemm.wgsl):
//   acc[r][j] += sum_{k0 <= k < k1} A[aRow[r] + k] * B[bBase + k * bStride + bCol[j]]
// A workgroup owns R rows of A (workgroup-uniform: on GPUs broadcast reads, on CPU drivers that
// run lanes as SIMD, scalar loads instead of per-lane gathers) and each lane R x CN
// accumulators; column j of a lane is base + j * WG + lane, so neighbouring lanes read
// neighbouring B values (coalesced).
//
// The includer declares the overrides R and CN (the tile, at most R_MAX x CN_MAX), the types
// `tile_t` (the operands, as held in registers and shuffled) and `tile_acc_t` (the accumulators),
// and reads its operands in `fn tileA(i: u32) -> tile_t` and `fn tileB(i: u32) -> tile_t` (flat
// indices, any storage type). Each step adds the product in the accumulator's type: with f16
// operands and f32 accumulators the products are exact (11-bit by 11-bit mantissas) and only
// the sums round. With TILE_A_MASKED defined, rows whose `aIn` is false read 0 (the implicit GEMM's taps
// in the padding) and their loads stay unconditional, so the access is uniform and branch-free.
// With SUBGROUPS defined (and `enable subgroups;`), lane l of a subgroup loads A column k0 + l
// of each row and subgroupShuffle hands each to every lane in turn: one load brings a subgroup's
// worth of columns (what lavapipe runs fastest: see conv2d_gemm_subgroup.wgsl); every subgroup
// must be full. Without subgroups, `sgLane` and `sgSize` are unused.

const R_MAX: u32 = 16u;
const CN_MAX: u32 = 8u;

fn accumulateTile(
  acc: ptr<function, array<array<tile_acc_t, CN_MAX>, R_MAX>>,
  aRow: ptr<function, array<u32, R_MAX>>,
  aIn: ptr<function, array<bool, R_MAX>>,
  k0: u32,
  k1: u32,
  bBase: u32,
  bStride: u32,
  bCol: ptr<function, array<u32, CN_MAX>>,
  sgLane: u32,
  sgSize: u32,
) {
//#if SUBGROUPS
  for (var c0 = k0; c0 < k1; c0 += sgSize) {
    let n = min(sgSize, k1 - c0);
    // Clamped into the range; a lane past n loads a value nobody reads.
    let myK = min(c0 + sgLane, k1 - 1u);
    var xs: array<tile_t, R_MAX>;
    for (var r = 0u; r < R; r++) {
//#if TILE_A_MASKED
      xs[r] = select(tile_t(0.0), tileA((*aRow)[r] + myK), (*aIn)[r]);
//#else
      xs[r] = tileA((*aRow)[r] + myK);
//#endif
    }
    for (var s = 0u; s < n; s++) {
      let bRow = bBase + (c0 + s) * bStride;
      var w: array<tile_acc_t, CN_MAX>;
      for (var j = 0u; j < CN; j++) { w[j] = tile_acc_t(tileB(bRow + (*bCol)[j])); }
      for (var r = 0u; r < R; r++) {
        let a = tile_acc_t(subgroupShuffle(xs[r], s));
        for (var j = 0u; j < CN; j++) { (*acc)[r][j] += a * w[j]; }
      }
    }
  }
//#else
  for (var k = k0; k < k1; k++) {
    let bRow = bBase + k * bStride;
    var w: array<tile_acc_t, CN_MAX>;
    for (var j = 0u; j < CN; j++) { w[j] = tile_acc_t(tileB(bRow + (*bCol)[j])); }
    for (var r = 0u; r < R; r++) {
//#if TILE_A_MASKED
      let a = tile_acc_t(select(tile_t(0.0), tileA((*aRow)[r] + k), (*aIn)[r]));
//#else
      let a = tile_acc_t(tileA((*aRow)[r] + k));
//#endif
      for (var j = 0u; j < CN; j++) { (*acc)[r][j] += a * w[j]; }
    }
  }
//#endif
}
