// Inference batch norm over the last (channel) axis, with an optional activation:
//   out = activate((x - mean[c]) / sqrt(variance[c] + eps) * gamma[c] + beta[c])
// Used where BN is not folded into the preceding convolution (training-time graphs, tests).
//#include "activation.wgsl"

override WG: u32 = 256u;

struct Params {
  total: u32,    // elements
  channels: u32, // C
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> variance: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let c = i % params.channels;
  // sqrt then divide rather than inverseSqrt: the latter's precision is looser in WGSL. The
  // channel's factor first, then one fused multiply-add: two roundings an element where
  // ((x - mean) / s) * gamma + beta takes four (training's drift through a MobileNetV2 grew
  // ~1.3x PyTorch's per layer with four; PyTorch's CPU kernel rounds once, fma(x, alpha, beta)).
  let k = gamma[c] / sqrt(variance[c] + params.eps);
  out[i] = activate(fma(input[i] - mean[c], k, beta[c]));
}
