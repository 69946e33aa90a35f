// out = x * factor (a constant of the graph, e.g. H*W turning a mean back into a sum).
override WG: u32 = 256u;

struct Params {
  total: u32,
  factor: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  out[i] = x[i] * params.factor;
}
