// Weight gradient of conv2d, stage 1 of a split-K reduction:
//   dW[kh, kw, ci, co] = sum over m = (n, oh, ow) of
//                        X[n, oh*strideH + kh*dilH - padTop, ow*strideW + kw*dilW - padLeft, g(co)*cinPerGroup + ci]
//                        * dY[n, oh, ow, co]        (input taps in the zero padding add nothing)
// As a GEMM: dW[k, co] = sum_m A[m, k] * dY[m, co] with k = (kh, kw, ci) (ci fastest, the HWIO
// row order) and A the never-materialised im2col matrix of the input.
// The M = N*OH*OW pixels are cut into `chunks` chunks of `chunkLen`; workgroup z (main) or the
// invocation index (grouped) picks one, and each writes its partial sums to
//   partial[chunk * outputs + k * Cout + co]    (outputs = K * Cout)
// which chunk_sum.wgsl then adds up (with one chunk, `partial` is dW itself).
// Inside a chunk every serial sum is blocked: BLOCK-term partial sums are added into a running
// total, so a long chunk loses no more float32 accuracy than ~BLOCK + chunkLen / BLOCK additions.
//
// `main` (groups == 1): a workgroup owns one tap (kh, kw), a block of RK = 8 consecutive input
// channels at that tap (k rows) and WG * CN output channels; an invocation keeps RK x CN = 8 x 4
// accumulators, channels co = base + j * WG + lane (neighbouring lanes read neighbouring dY).
// Per pixel m the tap's input position and its padding test are one uniform computation, a
// pixel whose tap falls into the padding is skipped whole (large atrous rates skip most), and
// the RK input values are contiguous, workgroup-uniform (broadcast) loads.
// With SUBGROUPS defined (conv2d_weight_grad_subgroup.wgsl, software adapters whose fixed
// subgroups hold at least RK lanes) those RK loads are one load per lane, shared through the
// subgroup (see conv2d_gemm_subgroup.wgsl for why that pays on lavapipe).
// `grouped` (groups > 1): one invocation per (output element, chunk).
// Both walk their chunk's pixels with running (n, oh, ow) counters instead of dividing m.
override WG: u32 = 32u;

const RK: u32 = 8u;      // k rows per workgroup (main)
const CN: u32 = 4u;      // output channels per invocation (main)
const BLOCK: u32 = 64u;  // terms per inner partial sum

struct Params {
  M: u32,  // N * OH * OW
  cin: u32,
  cout: u32,
  cinPerGroup: u32,
  coutPerGroup: u32,
  H: u32,
  W: u32,
  OH: u32,
  OW: u32,
  KH: u32,
  KW: u32,
  strideH: u32,
  strideW: u32,
  dilH: u32,
  dilW: u32,
  padTop: i32,
  padLeft: i32,
  K: u32,         // KH * KW * cinPerGroup
  ciBlocks: u32,  // ceil(cinPerGroup / RK): main's workgroups per tap
  chunkLen: u32,
  chunks: u32,
  outputs: u32,   // K * Cout
  tileRows: u32,  // RK, passed at run time so the store loop stays a loop
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> dOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

/** Output pixel m as (n, oh, ow). */
fn pixelOf(m: u32) -> vec3u {
  let t = m / params.OW;
  return vec3u(t / params.OH, t % params.OH, m % params.OW);
}

/** The pixel after `q` in (n, oh, ow) order. */
fn nextPixel(q: vec3u) -> vec3u {
  var r = q;
  r.z += 1u;
  if (r.z == params.OW) {
    r.z = 0u;
    r.y += 1u;
    if (r.y == params.OH) {
      r.y = 0u;
      r.x += 1u;
    }
  }
  return r;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lane: u32,
//#if SUBGROUPS
  @builtin(subgroup_invocation_id) sgLane: u32,
//#endif
) {
  let tap = wid.y / params.ciBlocks;
  let ci0 = (wid.y % params.ciBlocks) * RK;
  let chunk = wid.z;
  let coBase = wid.x * WG * CN + lane;
  let offH = i32((tap / params.KW) * params.dilH) - params.padTop;
  let offW = i32((tap % params.KW) * params.dilW) - params.padLeft;

  // dY columns of this lane and input channels of the k rows, clamped so edge lanes / rows read
  // valid memory (their results are not stored).
  var coCol: array<u32, CN>;
  for (var j = 0u; j < CN; j++) { coCol[j] = min(coBase + j * WG, params.cout - 1u); }
  var chan: array<u32, RK>;
  for (var r = 0u; r < RK; r++) { chan[r] = min(ci0 + r, params.cinPerGroup - 1u); }

  var acc: array<array<f32, CN>, RK>;
  for (var r = 0u; r < RK; r++) {
    for (var j = 0u; j < CN; j++) { acc[r][j] = 0.0; }
  }

  let H = i32(params.H);
  let W = i32(params.W);
  let mStart = chunk * params.chunkLen;
  let mEnd = min(params.M, mStart + params.chunkLen);
  var q = pixelOf(mStart);  // (n, oh, ow) of m
  for (var m0 = mStart; m0 < mEnd; m0 += BLOCK) {
    var part: array<array<f32, CN>, RK>;
    for (var r = 0u; r < RK; r++) {
      for (var j = 0u; j < CN; j++) { part[r][j] = 0.0; }
    }
    let m1 = min(m0 + BLOCK, mEnd);
    for (var m = m0; m < m1; m++) {
      let ih = i32(q.y * params.strideH) + offH;
      let iw = i32(q.z * params.strideW) + offW;
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
        let base = ((q.x * params.H + u32(ih)) * params.W + u32(iw)) * params.cin;
        var dy: array<f32, CN>;
        for (var j = 0u; j < CN; j++) { dy[j] = dOut[m * params.cout + coCol[j]]; }
//#if SUBGROUPS
        // The RK input values shared through the subgroup: lane i loads channel ci0 + i (lanes
        // past RK load a clamped one nobody reads), the shuffle hands it to every lane.
        let mine = input[base + min(ci0 + sgLane, params.cinPerGroup - 1u)];
        for (var r = 0u; r < RK; r++) {
          let a = subgroupShuffle(mine, r);
          for (var j = 0u; j < CN; j++) { part[r][j] += a * dy[j]; }
        }
//#else
        for (var r = 0u; r < RK; r++) {
          let a = input[base + chan[r]];
          for (var j = 0u; j < CN; j++) { part[r][j] += a * dy[j]; }
        }
//#endif
      }
      q = nextPixel(q);
    }
    for (var r = 0u; r < RK; r++) {
      for (var j = 0u; j < CN; j++) { acc[r][j] += part[r][j]; }
    }
  }

  var res: array<f32, 32>;  // RK * CN
  for (var r = 0u; r < RK; r++) {
    for (var j = 0u; j < CN; j++) { res[r * CN + j] = acc[r][j]; }
  }
  let base = chunk * params.outputs;
  for (var i = 0u; i < params.tileRows * CN; i++) {
    let ci = ci0 + i / CN;
    let co = coBase + (i % CN) * WG;
    if (ci < params.cinPerGroup && co < params.cout) {
      partial[base + (tap * params.cinPerGroup + ci) * params.cout + co] = res[i];
    }
  }
}

@compute @workgroup_size(WG)
fn grouped(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.outputs * params.chunks) { return; }
  // Neighbouring invocations take neighbouring co: coalesced dY reads (and input reads when
  // depthwise, where co's group is its input channel).
  let o = i % params.outputs;
  let chunk = i / params.outputs;
  let co = o % params.cout;
  let k = o / params.cout;
  let chan = (co / params.coutPerGroup) * params.cinPerGroup + k % params.cinPerGroup;
  let t = k / params.cinPerGroup;
  let offH = i32((t / params.KW) * params.dilH) - params.padTop;
  let offW = i32((t % params.KW) * params.dilW) - params.padLeft;

  let H = i32(params.H);
  let W = i32(params.W);
  let mStart = chunk * params.chunkLen;
  let mEnd = min(params.M, mStart + params.chunkLen);
  var q = pixelOf(mStart);  // (n, oh, ow) of m
  var acc = 0.0;
  for (var m0 = mStart; m0 < mEnd; m0 += BLOCK) {
    var part = 0.0;
    let m1 = min(m0 + BLOCK, mEnd);
    for (var m = m0; m < m1; m++) {
      let ih = i32(q.y * params.strideH) + offH;
      let iw = i32(q.z * params.strideW) + offW;
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
        part += input[((q.x * params.H + u32(ih)) * params.W + u32(iw)) * params.cin + chan] * dOut[m * params.cout + co];
      }
      q = nextPixel(q);
    }
    acc += part;
  }
  partial[chunk * params.outputs + o] = acc;
}
