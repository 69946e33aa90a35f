// Global average pool over H and W: [N,H,W,C] -> [N,1,1,C].
//
// One workgroup per (n, block of TC channels). Its TC x TR threads stride over the H*W
// positions: the TC lanes of a row read TC adjacent channels (contiguous in NHWC), each
// thread keeps a partial sum of ~H*W/TR values, and the TR partials of a channel are added
// in a tree in workgroup memory. This keeps both the serial chain per thread and the f32
// rounding error short, unlike one thread summing a 65x65 map alone.
const TC: u32 = 16u;
const TR: u32 = 16u;

struct Params {
  hw: u32,             // H * W
  channels: u32,       // C
  channel_blocks: u32, // ceil(C / TC)
  groups: u32,         // N * channel_blocks (the grid may be padded past it)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> out: array<elem_t>;

var<workgroup> partial: array<f32, 256>; // TC * TR

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
) {
  // Built from uniform values only, so the early return keeps barriers in uniform control flow.
  let group = wid.x + wid.y * nwg.x;
  if (group >= params.groups) { return; }
  let n = group / params.channel_blocks;
  let c = (group % params.channel_blocks) * TC + lid.x;
  let C = params.channels;

  var sum = 0.0;
  if (c < C) {
    let base = n * params.hw * C + c;
    for (var p = lid.y; p < params.hw; p += TR) {
      sum += f32(input[base + p * C]);
    }
  }
  let slot = lid.y * TC + lid.x;
  partial[slot] = sum;

  for (var stride = TR / 2u; stride > 0u; stride = stride / 2u) {
    workgroupBarrier();
    if (lid.y < stride) {
      partial[slot] += partial[slot + stride * TC];
    }
  }
  if (lid.y == 0u && c < C) {
    out[n * C + c] = elem_t(partial[lid.x] / f32(params.hw));
  }
}
