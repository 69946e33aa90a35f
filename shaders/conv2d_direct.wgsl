// Direct convolution for grouped and depthwise layers (groups > 1), where the per-group
// reduction (KH * KW * Cin/groups) is too short for the GEMM tiles to pay off.
// One thread per output element; with NHWC the channel index is the fastest, so neighbouring
// threads read neighbouring channels of the same input pixel and weight row.
//
// Weight is HWIO [KH, KW, Cin/groups, Cout]; output channel co belongs to group
// co / (Cout/groups) and reads input channels [g * Cin/groups, (g+1) * Cin/groups).
// Epilogue per element: out = activate(acc * scale[co] + bias[co] + residual[idx]).
//#include "activation.wgsl"

override HAS_BIAS: u32 = 0u;
override HAS_SCALE: u32 = 0u;
override HAS_RESIDUAL: u32 = 0u;
override WG: u32 = 64u;

struct Params {
  total: u32,        // N * OH * OW * Cout
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
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read> residual: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.total) { return; }
  let co = idx % params.cout;
  let pix = idx / params.cout;
  let ow = pix % params.OW;
  let t = pix / params.OW;
  let oh = t % params.OH;
  let n = t / params.OH;
  let ciBase = (co / params.coutPerGroup) * params.cinPerGroup;
  let ih0 = i32(oh * params.strideH) - params.padTop;
  let iw0 = i32(ow * params.strideW) - params.padLeft;
  let H = i32(params.H);
  let W = i32(params.W);

  var acc = 0.0;
  for (var kh = 0u; kh < params.KH; kh++) {
    let ih = ih0 + i32(kh * params.dilH);
    // Taps in the zero padding contribute nothing: skip them.
    if (ih < 0 || ih >= H) { continue; }
    for (var kw = 0u; kw < params.KW; kw++) {
      let iw = iw0 + i32(kw * params.dilW);
      if (iw < 0 || iw >= W) { continue; }
      let inBase = ((n * params.H + u32(ih)) * params.W + u32(iw)) * params.cin + ciBase;
      let wBase = (kh * params.KW + kw) * params.cinPerGroup * params.cout + co;
      for (var ci = 0u; ci < params.cinPerGroup; ci++) {
        acc += input[inBase + ci] * weight[wBase + ci * params.cout];
      }
    }
  }

  var v = acc;
  if (HAS_SCALE != 0u) { v = v * scale[co]; }
  if (HAS_BIAS != 0u) { v = v + bias[co]; }
  if (HAS_RESIDUAL != 0u) { v = v + residual[idx]; }
  out[idx] = activate(v);
}
