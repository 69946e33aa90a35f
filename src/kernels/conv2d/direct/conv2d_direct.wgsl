// Direct convolution for grouped and depthwise layers (groups > 1), where the per-group
// reduction (KH * KW * Cin/groups) is too short for the GEMM tiling to pay off: any grouping,
// one channel per lane. Depthwise layers with C % 4 == 0 run the vec4 tiles of
// ../depthwise/conv2d_depthwise.wgsl instead.
//
// Weight is HWIO [KH, KW, Cin/groups, Cout]; output channel co belongs to group
// co / (Cout/groups) and reads input channels [g * Cin/groups, (g+1) * Cin/groups).
//
// Epilogue per element: out = activate(acc * scale[co] + bias[co] + residual[idx]).
// Inputs and weights are widened as loaded to acc_t, the type the products are summed in: f32,
// or f16 in the f16-accumulating variant of half-precision programs (its reduction is only
// KH * KW * Cin/groups taps). The epilogue runs in f32.
//#include "activation.wgsl"

override WG: u32 = 64u;
// Compile-time kernel size (0: read KH, KW from params): constant loop bounds let the tap
// loops unroll, ~35% faster on lavapipe for 3x3.
override KSIZE: u32 = 0u;

// ---------------------------------------------------------------------------------------------
// main: the general grouped kernel.
//
// Layout: lanes run along output channels (NHWC keeps them contiguous, so neighbouring lanes
// read neighbouring input and weight values), and a workgroup owns P horizontally adjacent
// output pixels of one output row, shared by all its lanes. The pixel / tap index arithmetic
// is therefore uniform across the workgroup (no per-lane divisions), each weight value is
// loaded once for all P pixels, and with stride 1 and no horizontal dilation (SLIDE = 1) the
// P + KW - 1 input values of a kernel row are loaded once and slid across the KW taps instead
// of P * KW loads.

// 1 when strideW == 1 and dilationW == 1 (the sliding-window path).
override SLIDE: u32 = 0u;
// 1 for one input channel per group: a constant reduction loop.
override DEPTHWISE: u32 = 0u;

const P: u32 = 8u;  // output pixels per workgroup

struct Params {
  cout: u32,
  cin: u32,
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
  owBlocks: u32,     // ceil(OW / P): pixel blocks per output row
  blocks: u32,       // N * OH * owBlocks; blocks spill from y into z beyond 65535
  pixelsPerBlock: u32,  // P, passed at run time so the epilogue loop stays a loop
  epilogue: u32,     // epilogueBits: bit 0 bias, 1 scale, 2 residual, bits 8-15 the activation
}

//#include "conv2d_bindings.wgsl"

// input[n, ih, iw, channel] with rowBase = (n * H + ih) * W, or 0 outside the image. The load
// is unconditional (clamped index, masked afterwards) so it stays uniform and branch-free.
fn load(rowBase: u32, iw: i32, W: i32, channel: u32) -> acc_t {
  let inside = iw >= 0 && iw < W;
  let v = acc_t(input[(rowBase + u32(clamp(iw, 0, W - 1))) * params.cin + channel]);
  return select(acc_t(0.0), v, inside);
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let block = wid.y + wid.z * nwg.y;
  if (block >= params.blocks) { return; }
  let row = block / params.owBlocks;  // n * OH + oh
  let ow0 = (block % params.owBlocks) * P;
  let n = row / params.OH;
  let oh = row % params.OH;
  let coLane = wid.x * WG + lane;
  // Edge lanes compute on a valid channel; their results are never written.
  let co = min(coLane, params.cout - 1u);
  let ciBase = (co / params.coutPerGroup) * params.cinPerGroup;

  var acc: array<acc_t, P>;
  for (var p = 0u; p < P; p++) { acc[p] = acc_t(0.0); }

  let H = i32(params.H);
  let W = i32(params.W);
  let ih0 = i32(oh * params.strideH) - params.padTop;
  let iw0 = i32(ow0 * params.strideW) - params.padLeft;
  let KH = select(params.KH, KSIZE, KSIZE != 0u);
  let KW = select(params.KW, KSIZE, KSIZE != 0u);
  let cinPerGroup = select(params.cinPerGroup, 1u, DEPTHWISE != 0u);
  for (var kh = 0u; kh < KH; kh++) {
    let ih = ih0 + i32(kh * params.dilH);
    // Rows in the zero padding contribute nothing (uniform branch).
    if (ih < 0 || ih >= H) { continue; }
    let rowBase = (n * params.H + u32(ih)) * params.W;
    for (var ci = 0u; ci < cinPerGroup; ci++) {
      let channel = ciBase + ci;
      let wBase = (kh * KW * cinPerGroup + ci) * params.cout + co;
      let wStep = cinPerGroup * params.cout;  // next kw, same ci
      if (SLIDE != 0u) {
        var win: array<acc_t, P>;
        for (var p = 0u; p < P; p++) { win[p] = load(rowBase, iw0 + i32(p), W, channel); }
        for (var kw = 0u; kw < KW; kw++) {
          let w = acc_t(weight[wBase + kw * wStep]);
          for (var p = 0u; p < P; p++) { acc[p] += win[p] * w; }
          for (var p = 0u; p + 1u < P; p++) { win[p] = win[p + 1u]; }
          win[P - 1u] = load(rowBase, iw0 + i32(kw + P), W, channel);
        }
      } else {
        for (var kw = 0u; kw < KW; kw++) {
          let w = acc_t(weight[wBase + kw * wStep]);
          let iwTap = iw0 + i32(kw * params.dilW);
          for (var p = 0u; p < P; p++) {
            acc[p] += load(rowBase, iwTap + i32(p * params.strideW), W, channel) * w;
          }
        }
      }
    }
  }

  if (coLane >= params.cout) { return; }
  // The epilogue is read at run time, not from override constants: one pipeline serves every
  // epilogue (each distinct shader is a compile, seconds each on software adapters).
  let e = params.epilogue;
  var s = 1.0;
  if ((e & 2u) != 0u) { s = f32(scale[co]); }
  var b = 0.0;
  if ((e & 1u) != 0u) { b = f32(bias[co]); }
  // Runtime-bounded loop (not unrolled) keeps the pipeline quick to compile; it indexes a copy
  // so that the accumulators above stay in registers.
  var res: array<f32, P>;
  for (var p = 0u; p < P; p++) { res[p] = f32(acc[p]); }
  let count = min(params.OW - ow0, params.pixelsPerBlock);
  for (var p = 0u; p < count; p++) {
    let idx = (row * params.OW + ow0 + p) * params.cout + co;
    var v = res[p] * s + b;
    if ((e & 4u) != 0u) { v = v + f32(residual[idx]); }
    out[idx] = elem_t(activateAs(v, e >> 8u));
  }
}
