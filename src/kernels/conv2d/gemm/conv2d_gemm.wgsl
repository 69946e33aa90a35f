// Convolution with groups == 1 as an implicit GEMM:
//   out[m, co] = sum_k A[m, k] * B[k, co]
//   m = (n, oh, ow) output pixel (M = N*OH*OW), k = (kh, kw, ci) tap (K = KH*KW*Cin, ci fastest).
// In NHWC + HWIO the weight is already B = [K, Cout] row-major and out is [M, Cout] row-major;
// A is never materialised: each element is read from the input with the stride / pad /
// dilation (atrous rate) arithmetic, taps falling into the padding read 0.
//
// Register tiling (gemm_register_tile.wgsl): a workgroup owns R output pixels and WG * CN output
// channels; each invocation keeps an R x CN block of accumulators (chosen per adapter and layer
// shape: src/kernels/conv2d/gemm/candidates.ts, tuned by src/graph/tune.ts). All lanes of a
// workgroup share the same pixels, so the input index arithmetic and the input loads are
// workgroup-uniform. Measured on lavapipe this layout runs ~4x faster than a 64x64 tile staged
// through workgroup memory (barriers and divergent shared-memory reads dominate there).
//
// With SUBGROUPS defined (conv2d_gemm_subgroup.wgsl) the input operand is shared through
// subgroups instead: see the note there.
//
// Epilogue per element: out = activate(acc * scale[co] + bias[co] + residual[m, co]).
// Tensors are elem_t in storage (f32, or f16 in half-precision programs; see pipeline-cache.ts);
// the operands are widened once as loaded to acc_t, the type they are multiplied and summed in:
// f32 (exact products of f16 values), or f16 in the f16-accumulating variants, which compute in
// f16 throughout. The epilogue, once per output, is f32.
//#include "activation.wgsl"

override WG: u32 = 32u;
// Split-K: workgroups also split the input channels into ranges of ciChunk; each writes its
// raw partial sums to `out` read as a scratch [splits, M, Cout], and conv2d_splitk_reduce.wgsl
// adds them up in order and applies the epilogue. For layers with few output tiles and long
// reductions (ASPP at output stride 16, image pooling), which otherwise leave a GPU idle.
override SPLIT_K: u32 = 0u;

// The register tile: R output pixels per workgroup, CN output channels per invocation. Arrays
// are sized for the largest tile (R_MAX x CN_MAX); a smaller one leaves the rest unused (indices
// are constant once the loops unroll).
override R: u32 = 8u;
override CN: u32 = 4u;

//#include "conv2d_gemm_params.wgsl"
// Taps in the zero padding read 0.
//#define TILE_A_MASKED
alias tile_t = acc_t;
alias tile_acc_t = acc_t;
//#include "gemm_register_tile.wgsl"

fn tileA(i: u32) -> acc_t { return acc_t(input[i]); }
fn tileB(i: u32) -> acc_t { return acc_t(weight[i]); }

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
//#if SUBGROUPS
//#else
  let sgLane = 0u;
  let sgSize = 0u;
//#endif
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

  var acc: array<array<acc_t, CN_MAX>, R_MAX>;
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { acc[r][j] = acc_t(0.0); }
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
      // The weight's rows of this tap: (kRow + ci) * Cout.
      let kRow = (kh * params.KW + kw) * params.cin;
      accumulateTile(&acc, &pix, &inside, ciBegin, ciEnd, kRow * params.cout, params.cout, &wCol, sgLane, sgSize);
    }
  }

  // Epilogue as a loop the compiler cannot unroll (runtime bound): unrolled 8 x 4 times, the
  // stores and epilogue variants made each pipeline take seconds to compile on lavapipe.
  // Accumulators are copied to an indexable array first so the main loop keeps them in
  // registers.
  var res: array<f32, 128>;  // R_MAX * CN_MAX
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { res[r * CN + j] = f32(acc[r][j]); }
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
      out[idx] = elem_t(applyEpilogue(v, co, idx));
    }
  }
}
