// Soft Dice loss, pass 1 of 3 (src/kernels/loss/dice.ts): one invocation per pixel of logits [P, C]
// (classes on the last axis) and labels [P] (u32). dlogits holds softmax(x) at labelled pixels
// and 0 at every other (ignored or invalid, as smp zeroes the prediction there); pass 3 turns
// these probabilities into the gradient in place.
override WG: u32 = 64u;

struct Params {
  pixels: u32,
  classes: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = gid.x + gid.y * nwg.x * WG;
  if (p >= params.pixels) { return; }
  let C = params.classes;
  let base = p * C;
  if (labels[p] >= C) {
    for (var c = 0u; c < C; c++) { dlogits[base + c] = 0.0; }
    return;
  }
  var m = logits[base];
  for (var c = 1u; c < C; c++) { m = max(m, logits[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < C; c++) { s += exp(logits[base + c] - m); }
  for (var c = 0u; c < C; c++) { dlogits[base + c] = exp(logits[base + c] - m) / s; }
}
