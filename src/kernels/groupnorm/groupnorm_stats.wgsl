// Group norm's statistics (one group: each batch item over all its values), one workgroup per
// item: the mean, then 1 / sqrt(var + eps) with the biased variance computed about the mean (two
// passes, so large offsets cancel exactly). The threads stride over the item and reduce in
// shared memory in a fixed order (the same sums every run). stats[2n], stats[2n + 1].
// A const, not an override: it sizes the workgroup arrays (docs/wgsl-rules.md, rule 8).
const WG: u32 = 256u;

struct Params {
  items: u32,
  count: u32, // values per item
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;

//#include "groupnorm_item_stats.wgsl"

fn item_value(i: u32) -> f32 {
  return f32(input[i]);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = wid.x + wid.y * nwg.x;
  // Uniform control flow for the barriers: a workgroup past the items still takes part.
  let count = select(0u, params.count, n < params.items);
  let stats_n = item_mean_rstd(lid, n * params.count, count, f32(params.count), params.eps);
  if (lid == 0u && n < params.items) {
    stats[2u * n] = stats_n.x;
    stats[2u * n + 1u] = stats_n.y;
  }
}
