// Convolution with groups == 1 as an implicit GEMM staged through workgroup memory, the
// GPU-class candidate of the tuning space (src/kernels/conv2d-variants.ts):
//   out[m, co] = sum_k A[m, k] * B[k, co],  m = (n, oh, ow), k = (kh, kw, ci) with ci fastest,
// A gathered from the NHWC input with the stride / pad / dilation arithmetic (padding reads 0),
// B the HWIO weight read as [K, Cout].
//
// A workgroup computes a BM x BN block of the output (pixels x channels) with
// (BM / TM) x (BN / TN) threads, each keeping TM x TN accumulators. The reduction walks K in
// steps of BK: each step every thread loads its share of the A tile (BM x BK) and the B tile
// (BK x BN) into registers, stores them to one of two workgroup buffers, and the threads
// multiply out of the other, so loading step s + 1 overlaps computing step s with one barrier
// per step (double buffering). Loads are coalesced: consecutive threads read consecutive input
// channels (A) and output channels (B). Whole steps of padding taps still cost their loads
// here (the register kernel skips them); large atrous rates are the register kernel's case.
//
// Split-K, as in conv2d_gemm.wgsl: workgroups along x also split the input channels into
// ranges of ciChunk (taps stay whole), raw partial sums go to `out` read as [splits, M, Cout]
// and conv2d_splitk_reduce.wgsl adds them up.
//
// Epilogue per element: out = activate(acc * scale[co] + bias[co] + residual[m, co]).
// Storage is elem_t (f32 or f16); staging and accumulation are f32.
//#include "activation.wgsl"

override HAS_BIAS: u32 = 0u;
override HAS_SCALE: u32 = 0u;
override HAS_RESIDUAL: u32 = 0u;
override SPLIT_K: u32 = 0u;
override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 16u;
override TM: u32 = 4u;
override TN: u32 = 4u;
override WGX: u32 = 16u;  // BN / TN
override WGY: u32 = 16u;  // BM / TM
const T_MAX: u32 = 64u;   // TM * TN at most (8 x 8)

//#include "conv2d_gemm_params.wgsl"

// Two stages of each tile: A as [stage][k][m], B as [stage][k][n] (k-major, so the inner
// product reads rows of both).
var<workgroup> tileA: array<f32, 2u * BK * BM>;
var<workgroup> tileB: array<f32, 2u * BK * BN>;

//#include "conv2d_gemm_operands.wgsl"

@compute @workgroup_size(WGX, WGY)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  // Uniform per workgroup: a block past the last returns before any barrier, whole.
  let mBlock = wid.y + wid.z * nwg.y;
  if (mBlock >= params.mBlocks) { return; }
  let m0 = mBlock * BM;
  let split = wid.x / params.coGroups;
  let n0 = (wid.x % params.coGroups) * BN;
  let ciBegin = split * params.ciChunk;
  let chunk = min(params.cin, ciBegin + params.ciChunk) - ciBegin;
  let kLen = params.KH * params.KW * chunk;
  let threads = WGX * WGY;
  let steps = (kLen + BK - 1u) / BK;

  var acc: array<f32, T_MAX>;
  for (var i = 0u; i < TM * TN; i++) { acc[i] = 0.0; }

  // Stage 0 of step 0.
  for (var i = lane; i < BK * BM; i += threads) {
    let k = i / BM;
    tileA[k * BM + i % BM] = aValue(m0 + i % BM, k, kLen, chunk, ciBegin);
  }
  for (var i = lane; i < BK * BN; i += threads) {
    let k = i / BN;
    tileB[k * BN + i % BN] = bValue(k, n0 + i % BN, kLen, chunk, ciBegin);
  }
  workgroupBarrier();

  for (var s = 0u; s < steps; s++) {
    let cur = (s % 2u) * BK;
    let nxt = ((s + 1u) % 2u) * BK;
    // Load step s + 1 into the other stage while this one is multiplied out.
    if (s + 1u < steps) {
      let k0 = (s + 1u) * BK;
      for (var i = lane; i < BK * BM; i += threads) {
        let k = i / BM;
        tileA[(nxt + k) * BM + i % BM] = aValue(m0 + i % BM, k0 + k, kLen, chunk, ciBegin);
      }
      for (var i = lane; i < BK * BN; i += threads) {
        let k = i / BN;
        tileB[(nxt + k) * BN + i % BN] = bValue(k0 + k, n0 + i % BN, kLen, chunk, ciBegin);
      }
    }
    for (var k = 0u; k < BK; k++) {
      var a: array<f32, 8>;
      var b: array<f32, 8>;
      // Thread (x, y) owns pixels y + r * WGY and channels x + j * WGX: strided, so neighbouring
      // threads read neighbouring words of the tiles.
      for (var r = 0u; r < TM; r++) { a[r] = tileA[(cur + k) * BM + lid.y + r * WGY]; }
      for (var j = 0u; j < TN; j++) { b[j] = tileB[(cur + k) * BN + lid.x + j * WGX]; }
      for (var r = 0u; r < TM; r++) {
        for (var j = 0u; j < TN; j++) { acc[r * TN + j] += a[r] * b[j]; }
      }
    }
    workgroupBarrier();
  }

  for (var r = 0u; r < TM; r++) {
    let m = m0 + lid.y + r * WGY;
    if (m >= params.M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let co = n0 + lid.x + j * WGX;
      if (co >= params.cout) { continue; }
      let idx = m * params.cout + co;
      var v = acc[r * TN + j];
      if (SPLIT_K != 0u) {
        out[split * params.M * params.cout + idx] = elem_t(v);
        continue;
      }
      if (HAS_SCALE != 0u) { v = v * f32(scale[co]); }
      if (HAS_BIAS != 0u) { v = v + f32(bias[co]); }
      if (HAS_RESIDUAL != 0u) { v = v + f32(residual[idx]); }
      out[idx] = elem_t(activate(v));
    }
  }
}
