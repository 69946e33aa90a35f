// Convolution with groups == 1 as an implicit GEMM:
//   out[m, co] = sum_k A[m, k] * B[k, co]
//   m = (n, oh, ow) output pixel (M = N*OH*OW), k = (kh, kw, ci) tap (K = KH*KW*Cin, ci fastest).
// In NHWC + HWIO the weight is already B = [K, Cout] row-major and out is [M, Cout] row-major;
// A is never materialised: each element is read from the input with the stride / pad /
// dilation (atrous rate) arithmetic, taps falling into the padding read 0.
//
// Register tiling: a workgroup owns R output pixels and WG * CN output channels; each
// invocation keeps an R x CN block of accumulators (chosen per adapter and layer shape:
// src/kernels/conv2d/gemm/variants.ts, tuned by src/graph/tune.ts). Channel j of a lane is
// co = base + j * WG + lane, so neighbouring lanes read neighbouring weights (coalesced).
// All lanes of a workgroup share the same pixels, so the input index arithmetic and the
// input loads are workgroup-uniform: on GPUs they are broadcast reads, and on CPU drivers
// that run lanes as SIMD (lavapipe) they stay scalar instead of becoming per-lane gathers. Measured on lavapipe this layout runs ~4x faster than a 64x64 tile staged
// through workgroup memory (barriers and divergent shared-memory reads dominate there).
//
// With SUBGROUPS defined (conv2d_gemm_subgroup.wgsl) the input operand is shared through
// subgroups instead: see the note there.
//
// Epilogue per element: out = activate(acc * scale[co] + bias[co] + residual[m, co]).
// Tensors are elem_t in storage (f32, or f16 in half-precision programs; see pipeline-cache.ts);
// accumulation is always f32.
//#include "activation.wgsl"

override HAS_BIAS: u32 = 0u;
override HAS_SCALE: u32 = 0u;
override HAS_RESIDUAL: u32 = 0u;
override WG: u32 = 32u;
// Split-K: workgroups also split the input channels into ranges of ciChunk; each writes its
// raw partial sums to `out` read as a scratch [splits, M, Cout], and conv2d_splitk_reduce.wgsl
// adds them up in order and applies the epilogue. For layers with few output tiles and long
// reductions (ASPP at output stride 16, image pooling), which otherwise leave a GPU idle.
override SPLIT_K: u32 = 0u;

// The register tile, chosen per adapter (src/kernels/conv2d/gemm/variants.ts): R output pixels per workgroup,
// CN output channels per invocation. Arrays are sized for the largest tile; a smaller one
// leaves the rest unused (indices are constant once the loops unroll).
override R: u32 = 8u;
override CN: u32 = 4u;
const R_MAX: u32 = 16u;
const CN_MAX: u32 = 8u;

//#include "conv2d_gemm_params.wgsl"

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lane: u32,
//#if SUBGROUPS
  @builtin(subgroup_invocation_id) sgLane: u32,
  @builtin(subgroup_size) sgSize: u32,
//#endif
) {
  let mBlock = wid.y + wid.z * nwg.y;
  if (mBlock >= params.mBlocks) { return; }
  let m0 = mBlock * R;
  let split = wid.x / params.coGroups;
  let coBase = (wid.x % params.coGroups) * WG * CN + lane;
  let ciBegin = split * params.ciChunk;
  let ciEnd = min(params.cin, ciBegin + params.ciChunk);

  // Weight columns of this lane, clamped so edge lanes read valid memory (results dropped).
  var wCol: array<u32, CN_MAX>;
  for (var j = 0u; j < CN; j++) { wCol[j] = min(coBase + j * WG, params.cout - 1u); }

  // Receptive-field origin of each pixel (uniform across the workgroup). Rows past M repeat
  // the last pixel; their results are never written.
  var ih0: array<i32, R_MAX>;
  var iw0: array<i32, R_MAX>;
  var imageRow: array<u32, R_MAX>;  // n * H
  for (var r = 0u; r < R; r++) {
    let m = min(m0 + r, params.M - 1u);
    let ow = m % params.OW;
    let t = m / params.OW;
    let oh = t % params.OH;
    ih0[r] = i32(oh * params.strideH) - params.padTop;
    iw0[r] = i32(ow * params.strideW) - params.padLeft;
    imageRow[r] = (t / params.OH) * params.H;
  }

  var acc: array<array<f32, CN_MAX>, R_MAX>;
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { acc[r][j] = 0.0; }
  }

  let H = i32(params.H);
  let W = i32(params.W);
  for (var kh = 0u; kh < params.KH; kh++) {
    for (var kw = 0u; kw < params.KW; kw++) {
      // Input offset of this tap for every pixel; taps in the zero padding are masked.
      var pix: array<u32, R_MAX>;
      var inside: array<bool, R_MAX>;
      var anyInside = false;
      for (var r = 0u; r < R; r++) {
        let ih = ih0[r] + i32(kh * params.dilH);
        let iw = iw0[r] + i32(kw * params.dilW);
        inside[r] = ih >= 0 && ih < H && iw >= 0 && iw < W;
        anyInside = anyInside || inside[r];
        pix[r] = select(0u, ((imageRow[r] + u32(ih)) * params.W + u32(iw)) * params.cin, inside[r]);
      }
      // Large atrous rates put most taps entirely into the padding: skip them.
      if (!anyInside) { continue; }
      let kRow = (kh * params.KW + kw) * params.cin;
//#if SUBGROUPS
      // Channels c0 .. c0 + n - 1: lane i of the subgroup loads channel c0 + i of each pixel
      // (clamped into the range; a lane past n loads a value nobody reads), and the shuffle
      // hands each channel to every lane in turn.
      for (var c0 = ciBegin; c0 < ciEnd; c0 += sgSize) {
        let n = min(sgSize, ciEnd - c0);
        let myCi = min(c0 + sgLane, ciEnd - 1u);
        var xs: array<f32, R_MAX>;
        for (var r = 0u; r < R; r++) { xs[r] = select(0.0, f32(input[pix[r] + myCi]), inside[r]); }
        for (var s = 0u; s < n; s++) {
          let wRow = (kRow + c0 + s) * params.cout;
          var w: array<f32, CN_MAX>;
          for (var j = 0u; j < CN; j++) { w[j] = f32(weight[wRow + wCol[j]]); }
          for (var r = 0u; r < R; r++) {
            let a = subgroupShuffle(xs[r], s);
            for (var j = 0u; j < CN; j++) { acc[r][j] += a * w[j]; }
          }
        }
      }
//#else
      for (var ci = ciBegin; ci < ciEnd; ci++) {
        let wRow = (kRow + ci) * params.cout;
        var w: array<f32, CN_MAX>;
        for (var j = 0u; j < CN; j++) { w[j] = f32(weight[wRow + wCol[j]]); }
        for (var r = 0u; r < R; r++) {
          // Unconditional load (masked afterwards) keeps the access uniform and branch-free.
          let a = select(0.0, f32(input[pix[r] + ci]), inside[r]);
          for (var j = 0u; j < CN; j++) { acc[r][j] += a * w[j]; }
        }
      }
//#endif
    }
  }

  // Epilogue as a loop the compiler cannot unroll (runtime bound): unrolled 8 x 4 times, the
  // stores and epilogue variants made each pipeline take seconds to compile on lavapipe.
  // Accumulators are copied to an indexable array first so the main loop keeps them in
  // registers.
  var res: array<f32, 128>;  // R_MAX * CN_MAX
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { res[r * CN + j] = acc[r][j]; }
  }
  let count = min(params.M - m0, params.rowsPerBlock) * CN;
  for (var i = 0u; i < count; i++) {
    let m = m0 + i / CN;
    let co = coBase + (i % CN) * WG;
    if (co < params.cout) {
      let idx = m * params.cout + co;
      var v = res[i];
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
