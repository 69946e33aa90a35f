// Channel concat over NHWC: copies one input [N,H,W,Cin] into channels
// [offset, offset + Cin) of the output [N,H,W,Cout]. The host issues one dispatch per input;
// they write disjoint channel ranges of the same output.
override WG: u32 = 256u;

struct Params {
  total: u32, // N * H * W * Cin
  in_channels: u32,
  out_channels: u32,
  offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let pixel = i / params.in_channels;
  let c = i % params.in_channels;
  out[pixel * params.out_channels + params.offset + c] = input[i];
}
