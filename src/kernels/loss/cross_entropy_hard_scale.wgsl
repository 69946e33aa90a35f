// Softmax cross-entropy with hard-pixel mining, pass 3 of 3: dlogits *= factor at kept pixels
// (valid, weighted loss >= the threshold pass 2 found), 0 elsewhere.
override WG: u32 = 256u;

struct Params {
  total: u32,
  classes: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> factor: array<f32>;
@group(0) @binding(2) var<storage, read> partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let p = i / params.classes;
  let v = partial[3u * p];
  let key = select(bitcast<u32>(v), 0u, v <= 0.0);
  let kept = partial[3u * p + 1u] > 0.0 && key >= bitcast<u32>(factor[1]);
  dlogits[i] = select(0.0, dlogits[i] * factor[0], kept);
}
