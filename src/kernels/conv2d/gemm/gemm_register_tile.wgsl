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

//
// Two-level sums: each block of K_BLOCK columns (whole subgroup chunks with SUBGROUPS) is summed
// in a zeroed partial tile, then added to the accumulators. One running sum over K = KH*KW*Cin
// products grows its rounding error as sqrt(K) (18x a once-rounded result at K = 1280, measured
// on the smp MobileNetV2 training fixture), where PyTorch's blocked CPU GEMMs stay at ~6x; two
// levels give sqrt(K_BLOCK) + sqrt(K / K_BLOCK).

const R_MAX: u32 = 16u;
const CN_MAX: u32 = 8u;
const K_BLOCK: u32 = 32u;

// acc += part, over the R x CN tile.
fn addPartial(acc: ptr<function, array<array<tile_acc_t, CN_MAX>, R_MAX>>, part: ptr<function, array<array<tile_acc_t, CN_MAX>, R_MAX>>) {
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { (*acc)[r][j] += (*part)[r][j]; }
  }
}

// Zeroed explicitly each block: a `var` declared in the loop body was not re-zeroed per
// iteration on lavapipe (its sums ran on across blocks).
fn zeroTile(t: ptr<function, array<array<tile_acc_t, CN_MAX>, R_MAX>>) {
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { (*t)[r][j] = tile_acc_t(0.0); }
  }
}

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
  // A block: the whole subgroup chunks that make K_BLOCK columns or more.
  let blockLen = max(K_BLOCK / sgSize, 1u) * sgSize;
  for (var b0 = k0; b0 < k1; b0 += blockLen) {
    let b1 = min(b0 + blockLen, k1);
    var part: array<array<tile_acc_t, CN_MAX>, R_MAX>;
    zeroTile(&part);
    for (var c0 = b0; c0 < b1; c0 += sgSize) {
      let n = min(sgSize, b1 - c0);
      // Clamped into the range; a lane past n loads a value nobody reads.
      let myK = min(c0 + sgLane, b1 - 1u);
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
          for (var j = 0u; j < CN; j++) { part[r][j] += a * w[j]; }
        }
      }
    }
    addPartial(acc, &part);
  }
//#else
  for (var b0 = k0; b0 < k1; b0 += K_BLOCK) {
    var part: array<array<tile_acc_t, CN_MAX>, R_MAX>;
    zeroTile(&part);
    for (var k = b0; k < min(b0 + K_BLOCK, k1); k++) {
      let bRow = bBase + k * bStride;
      var w: array<tile_acc_t, CN_MAX>;
      for (var j = 0u; j < CN; j++) { w[j] = tile_acc_t(tileB(bRow + (*bCol)[j])); }
      for (var r = 0u; r < R; r++) {
//#if TILE_A_MASKED
        let a = tile_acc_t(select(tile_t(0.0), tileA((*aRow)[r] + k), (*aIn)[r]));
//#else
        let a = tile_acc_t(tileA((*aRow)[r] + k));
//#endif
        for (var j = 0u; j < CN; j++) { part[r][j] += a * w[j]; }
      }
    }
    addPartial(acc, &part);
  }
//#endif
}
