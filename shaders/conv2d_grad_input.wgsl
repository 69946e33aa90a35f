// Input gradient of a convolution, as a gather (the transposed convolution with the same stride,
// padding and dilation): each invocation owns one input element (n, ih, iw, ci) and sums
//   dx = sum over taps (kh, kw) and the output channels co of ci's group of
//        w[kh, kw, ci - group start, co] * dy[n, oh, ow, co]
// over the taps whose output position oh = (ih + pad_top - kh * dil_h) / stride_h is a whole
// number inside the output (likewise along W). No atomics: nothing is scattered.
//#include "conv_params.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: ConvGradParams; // total = N * H * W * Cin
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.total) { return; }
  let ci = idx % params.cin;
  var r = idx / params.cin;
  let iw = r % params.w;
  r = r / params.w;
  let ih = r % params.h;
  let n = r / params.h;
  let group = ci / params.cin_g;
  let ci_local = ci % params.cin_g;
  let co_start = group * params.cout_g;
  var sum = 0.0;
  for (var kh = 0u; kh < params.kh; kh++) {
    let top = i32(ih + params.pad_top) - i32(kh * params.dil_h);
    if (top < 0 || u32(top) % params.stride_h != 0u) { continue; }
    let oh = u32(top) / params.stride_h;
    if (oh >= params.oh) { continue; }
    for (var kw = 0u; kw < params.kw; kw++) {
      let left = i32(iw + params.pad_left) - i32(kw * params.dil_w);
      if (left < 0 || u32(left) % params.stride_w != 0u) { continue; }
      let ow = u32(left) / params.stride_w;
      if (ow >= params.ow) { continue; }
      let dy_base = ((n * params.oh + oh) * params.ow + ow) * params.cout + co_start;
      let w_base = ((kh * params.kw + kw) * params.cin_g + ci_local) * params.cout + co_start;
      for (var co = 0u; co < params.cout_g; co++) {
        sum += weight[w_base + co] * dy[dy_base + co];
      }
    }
  }
  dx[idx] = sum;
}
