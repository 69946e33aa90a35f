// Sliding-window inference, step 2 of 2: for `rows` image rows from `row0` that no later window
// touches, the blended probabilities acc / weight_sum, their argmax (ties to the lowest class,
// as argmax.wgsl) and, in main_probs, the probabilities themselves, written from the output's
// start; then those accumulator rows are cleared for the window rows still to come (see
// tile_blend.wgsl). One invocation per pixel.
override WG: u32 = 256u;

struct Params {
  pixels: u32,    // rows * width
  width: u32,
  row0: u32,      // first image row
  ring_rows: u32,
  channels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> acc: array<f32>;        // [ring_rows, width, C]
@group(0) @binding(2) var<storage, read_write> weight_sum: array<f32>; // [ring_rows, width]
@group(0) @binding(3) var<storage, read_write> labels: array<u32>;     // [>= rows, width]
@group(0) @binding(4) var<storage, read_write> probs_out: array<f32>;  // [>= rows, width, C]

/** The accumulator pixel of output pixel i. */
fn ring_pixel(i: u32) -> u32 {
  let x = i % params.width;
  let y = params.row0 + i / params.width;
  return (y % params.ring_rows) * params.width + x;
}

/** Argmax of the normalised values acc * inv (the same products main_probs writes). */
fn best_class(at: u32, inv: f32) -> u32 {
  let C = params.channels;
  var best = 0u;
  var best_value = acc[at * C] * inv;
  for (var c = 1u; c < C; c++) {
    let v = acc[at * C + c] * inv;
    if (v > best_value) {
      best = c;
      best_value = v;
    }
  }
  return best;
}

fn clear(at: u32) {
  for (var c = 0u; c < params.channels; c++) { acc[at * params.channels + c] = 0.0; }
  weight_sum[at] = 0.0;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.pixels) { return; }
  let at = ring_pixel(i);
  labels[i] = best_class(at, 1.0 / weight_sum[at]);
  clear(at);
}

@compute @workgroup_size(WG)
fn main_probs(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.pixels) { return; }
  let at = ring_pixel(i);
  let inv = 1.0 / weight_sum[at];
  for (var c = 0u; c < params.channels; c++) { probs_out[i * params.channels + c] = acc[at * params.channels + c] * inv; }
  labels[i] = best_class(at, inv);
  clear(at);
}
