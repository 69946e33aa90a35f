// Channels [offset, offset + C) of an NHWC tensor [N,H,W,Cin] as [N,H,W,C]: the gradient of
// one input of a channel concat, or one part of a map split by channels (f16 in a half program).
override WG: u32 = 256u;

struct Params {
  total: u32, // N * H * W * C
  channels: u32,
  in_channels: u32,
  offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let pixel = i / params.channels;
  out[i] = input[pixel * params.in_channels + params.offset + i % params.channels];
}
