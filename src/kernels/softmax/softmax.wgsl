// Softmax over the last axis, one invocation per row: the classes of a pixel at the end of the
// network, or the keys of a query in attention. Rows are short (21 classes, a few hundred
// keys), so a serial loop per row is cheaper than a workgroup reduction. The row max is
// subtracted first so exp() cannot overflow.
override WG: u32 = 256u;

struct Params {
  rows: u32,     // every leading axis
  channels: u32, // the last axis
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let C = params.channels;
  let base = row * C;
  var m = f32(input[base]);
  for (var c = 1u; c < C; c++) { m = max(m, f32(input[base + c])); }
  var sum = 0.0;
  for (var c = 0u; c < C; c++) { sum += exp(f32(input[base + c]) - m); }
  for (var c = 0u; c < C; c++) { out[base + c] = elem_t(exp(f32(input[base + c]) - m) / sum); }
}
