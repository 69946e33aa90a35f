// Sliding-window inference, step 1 of 2: adds one window's class probabilities, weighted, into
// the blending accumulator at the window's place in the image:
//   acc[y, x, c] += w(y) w(x) p[y, x, c],   weight_sum[y, x] += w(y) w(x)
// (y, x image coordinates; w the window's separable weights, src/model/tiling.ts). The
// accumulator holds `ring_rows` image rows, image row y in row y % ring_rows: a band of rows is
// finalised (tile_finalize.wgsl) and cleared before a later window row reuses its slots.
// One invocation per window pixel. Windows overlap, so each window is its own dispatch: two
// in one would add into the same pixels at once.
override WG: u32 = 256u;

struct Params {
  pixels: u32,    // win_h * win_w
  win_w: u32,
  item_base: u32, // index of this window's first value in probs (item * win_h * win_w * C)
  x0: u32,        // window's top-left corner in the image
  y0: u32,
  width: u32,     // image width: the accumulator's row length
  ring_rows: u32,
  channels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;       // [N, win_h, win_w, C]
@group(0) @binding(2) var<storage, read> row_weights: array<f32>; // [win_h]
@group(0) @binding(3) var<storage, read> col_weights: array<f32>; // [win_w]
@group(0) @binding(4) var<storage, read_write> acc: array<f32>;   // [ring_rows, width, C]
@group(0) @binding(5) var<storage, read_write> weight_sum: array<f32>; // [ring_rows, width]

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.pixels) { return; }
  let C = params.channels;
  let x = i % params.win_w;
  let y = i / params.win_w;
  let w = row_weights[y] * col_weights[x];
  let at = ((params.y0 + y) % params.ring_rows) * params.width + params.x0 + x;
  let first = params.item_base + i * C;
  for (var c = 0u; c < C; c++) {
    acc[at * C + c] = acc[at * C + c] + w * probs[first + c];
  }
  weight_sum[at] = weight_sum[at] + w;
}
