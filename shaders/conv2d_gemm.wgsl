// Convolution with groups == 1 as an implicit GEMM:
//   out[m, co] = sum_k A[m, k] * B[k, co]
//   m = (n, oh, ow) output pixel (M = N*OH*OW), k = (kh, kw, ci) tap (K = KH*KW*Cin, ci fastest).
// In NHWC + HWIO the weight is already B = [K, Cout] row-major and out is [M, Cout] row-major;
// A is never materialised: each element is gathered from the input with the stride / pad /
// dilation (atrous rate) arithmetic, taps falling into the padding read 0.
//
// Tiling: a workgroup computes a TM x TN output tile (64 x 64); each of its 16 x 16 threads
// owns a 4 x 4 register block. K is walked in TK-deep slices staged through workgroup memory,
// so every input and weight element fetched from memory is reused 64 times.
//
// Epilogue per element: out = activate(acc * scale[co] + bias[co] + residual[m, co]).
//#include "activation.wgsl"

override HAS_BIAS: u32 = 0u;
override HAS_SCALE: u32 = 0u;
override HAS_RESIDUAL: u32 = 0u;

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;

struct Params {
  M: u32,        // N * OH * OW
  K: u32,        // KH * KW * Cin
  cout: u32,
  cin: u32,
  H: u32,
  W: u32,
  OH: u32,
  OW: u32,
  KW: u32,
  strideH: u32,
  strideW: u32,
  dilH: u32,
  dilW: u32,
  padTop: i32,
  padLeft: i32,
  mTiles: u32,   // ceil(M / TM); the grid spills M tiles into z beyond 65535
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read> residual: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

// A slice stored k-major ([TK][TM]) so the inner product reads 4 consecutive rows at once.
var<workgroup> tileA: array<f32, 1024>;  // TK * TM
var<workgroup> tileB: array<f32, 1024>;  // TK * TN

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let mTile = wid.y + wid.z * nwg.y;
  // Uniform per workgroup (depends only on the workgroup id), so barriers stay legal.
  if (mTile >= params.mTiles) { return; }
  let m0 = mTile * TM;
  let n0 = wid.x * TN;
  let tx = li % 16u;
  let ty = li / 16u;

  // Loader roles. A: this thread fetches column k = li % 16 of rows (li / 16) + 16 j, so 16
  // neighbouring threads read 16 consecutive channels of one pixel. The output pixel of each
  // of its 4 rows is decoded once here, not per K step.
  let aK = li % 16u;
  let aRow = li / 16u;
  var rowValid: array<bool, 4>;
  var rowIh: array<i32, 4>;   // top-left input row of the receptive field (may be negative)
  var rowIw: array<i32, 4>;
  var rowBase: array<u32, 4>; // n * H (start of the image, in rows)
  for (var j = 0u; j < 4u; j++) {
    let m = m0 + aRow + 16u * j;
    rowValid[j] = m < params.M;
    let ow = m % params.OW;
    let t = m / params.OW;
    let oh = t % params.OH;
    let n = t / params.OH;
    rowIh[j] = i32(oh * params.strideH) - params.padTop;
    rowIw[j] = i32(ow * params.strideW) - params.padLeft;
    rowBase[j] = n * params.H;
  }
  // B: this thread fetches column n = li % 64 of rows (li / 64) + 4 j (consecutive Cout).
  let bN = li % 64u;
  let bK = li / 64u;
  let bCol = n0 + bN;

  var acc: array<vec4f, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4f(0.0); }

  let H = i32(params.H);
  let W = i32(params.W);
  for (var k0 = 0u; k0 < params.K; k0 += TK) {
    // Stage A (gathered input, zero outside the image or past K / M).
    let k = k0 + aK;
    let kValid = k < params.K;
    let ci = k % params.cin;
    let tap = k / params.cin;
    let kh = tap / params.KW;
    let kw = tap - kh * params.KW;
    let dh = i32(kh * params.dilH);
    let dw = i32(kw * params.dilW);
    for (var j = 0u; j < 4u; j++) {
      let ih = rowIh[j] + dh;
      let iw = rowIw[j] + dw;
      var v = 0.0;
      if (kValid && rowValid[j] && ih >= 0 && ih < H && iw >= 0 && iw < W) {
        v = input[((rowBase[j] + u32(ih)) * params.W + u32(iw)) * params.cin + ci];
      }
      tileA[aK * TM + aRow + 16u * j] = v;
    }
    // Stage B (weights, zero past K / Cout).
    for (var j = 0u; j < 4u; j++) {
      let kb = k0 + bK + 4u * j;
      var v = 0.0;
      if (kb < params.K && bCol < params.cout) {
        v = weight[kb * params.cout + bCol];
      }
      tileB[(bK + 4u * j) * TN + bN] = v;
    }
    workgroupBarrier();

    for (var kk = 0u; kk < TK; kk++) {
      let ai = kk * TM + ty * 4u;
      let bi = kk * TN + tx * 4u;
      let a = vec4f(tileA[ai], tileA[ai + 1u], tileA[ai + 2u], tileA[ai + 3u]);
      let b = vec4f(tileB[bi], tileB[bi + 1u], tileB[bi + 2u], tileB[bi + 3u]);
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }

  // Epilogue: rows m0 + ty*4 + i, columns n0 + tx*4 + j; out is [M, Cout] row-major (NHWC).
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty * 4u + i;
    if (m >= params.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let co = n0 + tx * 4u + j;
      if (co >= params.cout) { break; }
      let idx = m * params.cout + co;
      var v = acc[i][j];
      if (HAS_SCALE != 0u) { v = v * scale[co]; }
      if (HAS_BIAS != 0u) { v = v + bias[co]; }
      if (HAS_RESIDUAL != 0u) { v = v + residual[idx]; }
      out[idx] = activate(v);
    }
  }
}
