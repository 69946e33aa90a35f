// Bias gradient of conv2d: dBias[co] = sum of dY [N, OH, OW, Cout] over N, OH and OW.
//
// One workgroup per block of TC channels (the layout of global_avg_pool.wgsl): its TC x TR
// threads stride over the M = N*OH*OW pixels, the TC lanes of a row reading TC adjacent
// channels (contiguous in NHWC). Each thread's serial sum is blocked (BLOCK-term partial sums
// into a running total), then the TR partials of a channel are added in a tree in workgroup
// memory, so sums over tens of thousands of pixels keep float32 accuracy.
const TC: u32 = 16u;
const TR: u32 = 16u;
const BLOCK: u32 = 64u;

struct Params {
  pixels: u32,          // M = N * OH * OW
  channels: u32,        // Cout
  channelBlocks: u32,   // ceil(Cout / TC)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read_write> dBias: array<f32>;

var<workgroup> partials: array<f32, 256>;  // TC * TR

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
) {
  // Built from uniform values only, so the early return keeps barriers in uniform control flow.
  let block = wid.x + wid.y * nwg.x;
  if (block >= params.channelBlocks) { return; }
  let c = block * TC + lid.x;
  let C = params.channels;

  var total = 0.0;
  if (c < C) {
    for (var p0 = lid.y; p0 < params.pixels; p0 += BLOCK * TR) {
      var part = 0.0;
      let p1 = min(p0 + BLOCK * TR, params.pixels);
      for (var p = p0; p < p1; p += TR) { part += dOut[p * C + c]; }
      total += part;
    }
  }
  let slot = lid.y * TC + lid.x;
  partials[slot] = total;

  for (var stride = TR / 2u; stride > 0u; stride = stride / 2u) {
    workgroupBarrier();
    if (lid.y < stride) {
      partials[slot] += partials[slot + stride * TC];
    }
  }
  if (lid.y == 0u && c < C) {
    dBias[c] = partials[lid.x];
  }
}
