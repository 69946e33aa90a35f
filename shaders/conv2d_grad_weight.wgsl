// Weight gradient of a convolution, pass 1 of 2: the convolution of the input with the output
// gradient (stride and dilation swapped):
//   dw[kh, kw, ci, co] = sum over n, oh, ow of x[n, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl, ci'] * dy[n, oh, ow, co]
// (zero outside the input; ci' = ci + co's group start). The N*OH*OW pixels are split into
// `chunks` ranges so that enough invocations run; each writes the partial sum of its range,
// and chunk_sum.wgsl adds the ranges up (pass 2). Invocation = (chunk, tap row, co).
//#include "conv_params.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: ConvGradParams; // total = chunks * KH*KW*Cin_g * Cout
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.total) { return; }
  let co = idx % params.cout;
  var r = idx / params.cout;
  let rows = params.kh * params.kw * params.cin_g;
  let row = r % rows;
  let chunk = r / rows;
  let ci_local = row % params.cin_g;
  let tap = row / params.cin_g;
  let kw = tap % params.kw;
  let kh = tap / params.kw;
  let ci = (co / params.cout_g) * params.cin_g + ci_local;
  let pixels = params.n * params.oh * params.ow;
  let first = chunk * params.chunk_len;
  let last = min(first + params.chunk_len, pixels);
  var sum = 0.0;
  for (var p = first; p < last; p++) {
    let ow = p % params.ow;
    let rest = p / params.ow;
    let oh = rest % params.oh;
    let n = rest / params.oh;
    let ih = i32(oh * params.stride_h + kh * params.dil_h) - i32(params.pad_top);
    let iw = i32(ow * params.stride_w + kw * params.dil_w) - i32(params.pad_left);
    if (ih < 0 || iw < 0 || u32(ih) >= params.h || u32(iw) >= params.w) { continue; }
    sum += x[((n * params.h + u32(ih)) * params.w + u32(iw)) * params.cin + ci] * dy[p * params.cout + co];
  }
  partial[idx] = sum;
}
