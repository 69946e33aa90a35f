// Group norm's input gradient, first pass, one workgroup per batch item: its mean and rstd as
// the forward computes them (groupnorm_stats.wgsl), then with xhat = (x - mean) * rstd and
// g = dy * gamma, mean(g) and mean(g * xhat) over the item. stats[4n .. 4n + 3].
// A const, not an override: it sizes the workgroup arrays (docs/wgsl-rules.md, rule 8).
const WG: u32 = 256u;

struct Params {
  items: u32,
  count: u32, // values per item
  channels: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

//#include "groupnorm_item_stats.wgsl"

fn item_value(i: u32) -> f32 {
  return x[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = wid.x + wid.y * nwg.x;
  // Uniform control flow for the barriers: a workgroup past the items still takes part.
  let count = select(0u, params.count, n < params.items);
  let base = n * params.count;
  let m = f32(params.count);
  let mean_rstd = item_mean_rstd(lid, base, count, m, params.eps);
  let mean = mean_rstd.x;
  let rstd = mean_rstd.y;
  var sumG = 0.0;
  var sumGX = 0.0;
  for (var i = lid; i < count; i += WG) {
    let g = dy[base + i] * gamma[i % params.channels];
    sumG += g;
    sumGX += g * (x[base + i] - mean) * rstd;
  }
  let sums = workgroupSums(lid, sumG, sumGX) / m;
  if (lid == 0u && n < params.items) {
    stats[4u * n] = mean;
    stats[4u * n + 1u] = rstd;
    stats[4u * n + 2u] = sums.x;
    stats[4u * n + 3u] = sums.y;
  }
}
