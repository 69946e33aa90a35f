// Per-channel sums over rows, pass 1 of the chunked reduction (chunk_sum.wgsl adds the chunks):
// bias gradients and batch norm in training. x and dy are [rows, C] (NHWC pixels by channels);
// each invocation sums one channel over one chunk of rows.
//   MODE 0: sum x                        (a bias gradient; the batch mean)
//   MODE 1: sum (x - mean)^2             (the biased batch variance; two passes for accuracy)
//   MODE 2: sum dy, sum dy * (x - mean)  (the backward; partial holds both: [chunks, 2, C])
override MODE: u32 = 0u;
override WG: u32 = 64u;

struct Params {
  total: u32, // chunks * C
  channels: u32,
  rows: u32,
  chunk_len: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.total) { return; }
  let C = params.channels;
  let c = idx % C;
  let chunk = idx / C;
  let first = chunk * params.chunk_len;
  let last = min(first + params.chunk_len, params.rows);
  var m = 0.0;
  if (MODE != 0u) { m = mean[c]; }
  var s0 = 0.0;
  var s1 = 0.0;
  for (var p = first; p < last; p++) {
    let v = x[p * C + c];
    if (MODE == 0u) {
      s0 += v;
    } else if (MODE == 1u) {
      s0 += (v - m) * (v - m);
    } else {
      let g = dy[p * C + c];
      s0 += g;
      s1 += g * (v - m);
    }
  }
  if (MODE == 2u) {
    partial[chunk * 2u * C + c] = s0;
    partial[chunk * 2u * C + C + c] = s1;
  } else {
    partial[idx] = s0;
  }
}
