// Pass 1 of a tensor's range with zero in it (dynamic quantisation's): workgroup g folds values
// [g * per_group, (g + 1) * per_group) into min(0, their minimum) and max(0, their maximum),
// written to partial[2g] and partial[2g + 1]. quantize_range.wgsl folds the partials.
//#include "min_max_fold.wgsl"
const WG: u32 = 256u;

struct Params {
  total: u32,
  per_group: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let start = wid.x * params.per_group;
  let end = min(start + params.per_group, params.total);
  // Zero is in every range: the fold starts there.
  var lo = 0.0;
  var hi = 0.0;
  for (var i = start + lid; i < end; i += WG) {
    let v = input[i];
    lo = min(lo, v);
    hi = max(hi, v);
  }
  foldRange(lid, lo, hi);
  if (lid == 0u) {
    partial[2u * wid.x] = lows[0];
    partial[2u * wid.x + 1u] = highs[0];
  }
}
