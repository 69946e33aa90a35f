// Gradient of the global average pool: every position of a channel gets dy[n, c] / (H * W).
override WG: u32 = 256u;

struct Params {
  total: u32,    // N * H * W * C
  channels: u32, // C
  hw: u32,       // H * W
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>; // [N, 1, 1, C]
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let c = i % params.channels;
  let n = i / (params.channels * params.hw);
  dx[i] = dy[n * params.channels + c] / f32(params.hw);
}
