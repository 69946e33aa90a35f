// Pass 3 of dynamic quantisation: each value as its uint8 code less the zero point,
//   out = clamp(round(x / scale), -zero_point, 255 - zero_point)
// (onnxruntime's saturate(round(x / scale) + zero_point) - zero_point: the division rounded once
// as f32, the rounding to an integer ties to even), an integer in [-255, 255] as f32, so that the
// convolutions and products after it multiply integers exactly.
//#include "div_rn.wgsl"
override WG: u32 = 256u;

struct Params {
  total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> zero_point: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let z = zero_point[0];
  out[i] = clamp(round(div_rn(input[i], scale[0])), -z, 255.0 - z);
}
