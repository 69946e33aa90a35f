// Argmax over the last (channel) axis, one invocation per row (pixel): the segmentation
// label map. A strict `>` keeps the first maximum, so ties go to the lowest channel index
// (numpy / torch behaviour).
override WG: u32 = 256u;

struct Params {
  rows: u32,     // N * H * W
  channels: u32, // C
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let base = row * params.channels;
  var best = input[base];
  var best_c = 0u;
  for (var c = 1u; c < params.channels; c++) {
    let v = input[base + c];
    if (v > best) {
      best = v;
      best_c = c;
    }
  }
  out[row] = best_c;
}
