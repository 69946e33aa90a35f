// Softmax over the last (channel) axis, one invocation per row (pixel). Class counts in
// segmentation are small (21, 19, 150), so a serial loop per pixel is cheaper than a
// workgroup reduction. The row max is subtracted first so exp() cannot overflow.
override WG: u32 = 256u;

struct Params {
  rows: u32,     // N * H * W
  channels: u32, // C
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let C = params.channels;
  let base = row * C;
  var m = input[base];
  for (var c = 1u; c < C; c++) { m = max(m, input[base + c]); }
  var sum = 0.0;
  for (var c = 0u; c < C; c++) { sum += exp(input[base + c] - m); }
  for (var c = 0u; c < C; c++) { out[base + c] = exp(input[base + c] - m) / sum; }
}
