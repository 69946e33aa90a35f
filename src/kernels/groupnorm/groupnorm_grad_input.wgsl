// Group norm's input gradient, one invocation per value, from each item's statistics
// (groupnorm_grad_stats.wgsl): dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma.
override WG: u32 = 256u;

struct Params {
  total: u32,
  count: u32, // values per item
  channels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let s = 4u * (i / params.count);
  let rstd = stats[s + 1u];
  let xhat = (x[i] - stats[s]) * rstd;
  dx[i] = rstd * (dy[i] * gamma[i % params.channels] - stats[s + 2u] - xhat * stats[s + 3u]);
}
