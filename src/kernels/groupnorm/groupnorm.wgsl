// Group norm's output from its statistics (groupnorm_stats.wgsl), one invocation per value:
// y = (x - mean[n]) * rstd[n] * gamma[c] + beta[c].
override WG: u32 = 256u;

struct Params {
  total: u32,
  count: u32, // values per item
  channels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read> gamma: array<elem_t>;
@group(0) @binding(3) var<storage, read> beta: array<elem_t>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let n = i / params.count;
  let c = i % params.channels;
  let xhat = (f32(input[i]) - stats[2u * n]) * stats[2u * n + 1u];
  out[i] = elem_t(xhat * f32(gamma[c]) + f32(beta[c]));
}
