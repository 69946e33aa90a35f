// Softmax cross-entropy, pass 3 of 3: dlogits *= factor (scale / sum of valid weights).
override WG: u32 = 256u;

struct Params {
  total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> factor: array<f32>;
@group(0) @binding(2) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  dlogits[i] = dlogits[i] * factor[0];
}
