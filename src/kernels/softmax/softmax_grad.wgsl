// Gradient of a softmax over the last axis from its output y: dx = y * (dy - sum(dy * y)),
// one invocation per row (as the forward).
override WG: u32 = 256u;

struct Params {
  rows: u32,
  channels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let base = row * params.channels;
  var dot = 0.0;
  for (var c = 0u; c < params.channels; c++) { dot += dy[base + c] * y[base + c]; }
  for (var c = 0u; c < params.channels; c++) { dx[base + c] = y[base + c] * (dy[base + c] - dot); }
}
