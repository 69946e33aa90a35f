// Softmax cross-entropy, pass 2 of 3: one workgroup sums the per-pixel partials (loss, weight,
// invalid flag). Each lane sums a strided share with Kahan compensation, then the lanes meet
// in a tree, so ~10^5 terms keep float32 accuracy.
//   loss   = scale * sum(w * nll) / sum(w)    (0 when no pixel is valid)
//   factor = scale / sum(w)                   (pass 3 multiplies dlogits by it; 0 when none)
//   invalid = number of pixels whose label is neither a class nor the ignore index
const LANES: u32 = 256u;

struct Params {
  pixels: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> factor: array<f32>;
@group(0) @binding(4) var<storage, read_write> invalid: array<u32>;

var<workgroup> sums: array<vec3f, LANES>;

@compute @workgroup_size(LANES)
fn main(@builtin(local_invocation_index) lane: u32) {
  var total = vec3f(0.0);
  var carry = vec3f(0.0);
  for (var p = lane; p < params.pixels; p += LANES) {
    let term = vec3f(partial[3u * p], partial[3u * p + 1u], partial[3u * p + 2u]) - carry;
    let next = total + term;
    carry = (next - total) - term;
    total = next;
  }
  sums[lane] = total;
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) { sums[lane] += sums[lane + stride]; }
    workgroupBarrier();
  }
  if (lane == 0u) {
    let t = sums[0];
    let valid = t.y > 0.0;
    loss[0] = select(0.0, params.scale * t.x / t.y, valid);
    factor[0] = select(0.0, params.scale / t.y, valid);
    invalid[0] = u32(round(t.z));
  }
}
