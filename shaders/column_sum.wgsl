// Pass 1 of a per-channel sum over rows: partial[k, c] = sum of x[p, c] over the rows p of
// chunk k (x is [rows, C], e.g. NHWC pixels by channels: a bias gradient). chunk_sum.wgsl
// adds the chunks.
override WG: u32 = 64u;

struct Params {
  total: u32, // chunks * C
  channels: u32,
  rows: u32,
  chunk_len: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.total) { return; }
  let c = idx % params.channels;
  let chunk = idx / params.channels;
  let first = chunk * params.chunk_len;
  let last = min(first + params.chunk_len, params.rows);
  var sum = 0.0;
  for (var p = first; p < last; p++) { sum += x[p * params.channels + c]; }
  partial[idx] = sum;
}
