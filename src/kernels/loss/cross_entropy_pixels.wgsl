// Softmax cross-entropy, pass 1 of 3 (src/kernels/loss/cross-entropy.ts): one invocation per pixel
// of logits [P, C] (P = N*H*W, classes on the last axis) and labels [P] (u32).
//   valid pixel (label < C):   dlogits = w[y] * (softmax - onehot(y))   (normalised in pass 3)
//                              partial = (w[y] * -log softmax[y], w[y], 0)
//   ignored (label == ignore): dlogits = 0, partial = (0, 0, 0)
//   anything else:             dlogits = 0, partial = (0, 0, 1): counted, reported by the host
// log-softmax is computed stably (max subtracted first).
override WG: u32 = 64u;
override HAS_WEIGHTS: u32 = 0u;

struct Params {
  pixels: u32,
  classes: u32,
  ignore_index: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = gid.x + gid.y * nwg.x * WG;
  if (p >= params.pixels) { return; }
  let C = params.classes;
  let base = p * C;
  let y = labels[p];
  if (y >= C) {
    for (var c = 0u; c < C; c++) { dlogits[base + c] = 0.0; }
    partial[3u * p] = 0.0;
    partial[3u * p + 1u] = 0.0;
    partial[3u * p + 2u] = select(1.0, 0.0, y == params.ignore_index);
    return;
  }
  var m = logits[base];
  for (var c = 1u; c < C; c++) { m = max(m, logits[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < C; c++) { s += exp(logits[base + c] - m); }
  var w = 1.0;
  if (HAS_WEIGHTS == 1u) { w = weights[y]; }
  for (var c = 0u; c < C; c++) {
    let prob = exp(logits[base + c] - m) / s;
    dlogits[base + c] = w * (prob - select(0.0, 1.0, c == y));
  }
  partial[3u * p] = w * (log(s) + m - logits[base + y]);
  partial[3u * p + 1u] = w;
  partial[3u * p + 2u] = 0.0;
}
