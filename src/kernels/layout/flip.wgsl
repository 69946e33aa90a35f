// Left-right mirror of an NHWC tensor: out[n, y, x, c] = input[n, y, W-1-x, c].
// Flipped inference mirrors the flipped view's logits back before averaging them in.

override WG: u32 = 256u;

struct Params {
  total: u32,    // elements
  width: u32,    // W
  channels: u32, // C
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let c = i % params.channels;
  let pixel = i / params.channels;
  let x = pixel % params.width;
  let row = pixel / params.width; // n * H + y
  out[i] = input[(row * params.width + (params.width - 1u - x)) * params.channels + c];
}
