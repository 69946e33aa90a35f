// Soft Dice loss, pass 3 of 3: per labelled pixel, the probabilities in dlogits become the
// gradient of loss = sum_c w_c (1 - dice_c):
//   g_c = dloss/dp_c = -w_c (2 t_c - dice_c) / S_c,   dlogits_c = p_c (g_c - sum_k p_k g_k)
// (the softmax's backward). Ignored pixels stay 0. Invocation 0 writes the loss.
override WG: u32 = 64u;

struct Params {
  pixels: u32,
  classes: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> stats: array<vec4f>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

// dloss/dp_c at a pixel whose target for class c is t (w_c > 0 implies S_c >= 1).
fn dprob(c: u32, t: f32) -> f32 {
  let s = stats[c];
  return select(0.0, -s.z * (2.0 * t - s.x) / s.y, s.z > 0.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = gid.x + gid.y * nwg.x * WG;
  let C = params.classes;
  if (p == 0u) {
    var l = 0.0;
    for (var c = 0u; c < C; c++) { l += stats[c].z * (1.0 - stats[c].x); }
    loss[0] = l;
  }
  if (p >= params.pixels) { return; }
  let y = labels[p];
  if (y >= C) { return; }
  let base = p * C;
  var dot = 0.0;
  for (var c = 0u; c < C; c++) { dot += dlogits[base + c] * dprob(c, select(0.0, 1.0, c == y)); }
  for (var c = 0u; c < C; c++) {
    let prob = dlogits[base + c];
    dlogits[base + c] = prob * (dprob(c, select(0.0, 1.0, c == y)) - dot);
  }
}
