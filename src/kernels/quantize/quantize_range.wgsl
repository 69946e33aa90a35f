// Pass 2 of dynamic quantisation (onnxruntime's DynamicQuantizeLinear): one workgroup folds the
// partial ranges of min_max.wgsl into the tensor's [min(0, min x), max(0, max x)] and writes
//   scale = (max - min) / 255 (1 where max == min), zero_point = round(clamp(0 - min / scale, 0, 255)),
// each operation rounded once as f32, ties to even.
//#include "div_rn.wgsl"
//#include "min_max_fold.wgsl"
const WG: u32 = 256u;

struct Params {
  groups: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> zero_point: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var lo = 0.0;
  var hi = 0.0;
  for (var g = lid; g < params.groups; g += WG) {
    lo = min(lo, partial[2u * g]);
    hi = max(hi, partial[2u * g + 1u]);
  }
  foldRange(lid, lo, hi);
  if (lid == 0u) {
    let a = lows[0];
    let b = highs[0];
    var s = 1.0;
    if (b != a) { s = div_rn(b - a, 255.0); }
    scale[0] = s;
    zero_point[0] = round(clamp(0.0 - div_rn(a, s), 0.0, 255.0));
  }
}
