// Backward of the global average pool: dx[n,h,w,c] = dy[n,0,0,c] / (H*W).
override WG: u32 = 256u;

struct Params {
  total: u32, // N * H * W * C (input elements)
  hw: u32,    // H * W
  channels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let C = params.channels;
  let n = i / (params.hw * C);
  dx[i] = dy[n * C + i % C] / f32(params.hw);
}
