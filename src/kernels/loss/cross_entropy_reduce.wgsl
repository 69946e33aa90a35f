// Softmax cross-entropy, pass 2 of 3: one workgroup sums the per-pixel partials (loss, weight,
// invalid flag). Each lane sums a strided share with Kahan compensation, then the lanes meet
// in a tree, so ~10^5 terms keep float32 accuracy.
//   loss   = scale * sum(w * nll) / sum(w)    (0 when no pixel is valid)
//   factor = scale / sum(w)                   (pass 3 multiplies dlogits by it; 0 when none)
//   invalid = number of pixels whose label is neither a class nor the ignore index
// With HARD = 1 (hard-pixel mining, DeepLab's top_k_percent_pixels) the sums run over only the
// k = max(1, floor(fraction * valid)) valid pixels of largest key w * nll, and any tied with the
// k-th. That key is found exactly by a binary search over the keys' bit patterns (non-negative
// floats order like their u32 bits): 31 counting rounds, no atomics; factor[1] = its bits, for
// pass 3.
override HARD: u32 = 0u;
const LANES: u32 = 256u;

struct Params {
  pixels: u32,
  scale: f32,
  fraction: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> factor: array<f32>;
@group(0) @binding(4) var<storage, read_write> invalid: array<u32>;

var<workgroup> counts: array<u32, LANES>;
var<workgroup> sums: array<vec3f, LANES>;

// A pixel's key as ordered bits; a loss rounded below zero counts as 0.
fn keyBits(p: u32) -> u32 {
  let v = partial[3u * p];
  return select(bitcast<u32>(v), 0u, v <= 0.0);
}

// The tree sum of every lane's count; all lanes get it.
fn sumCounts(lane: u32, mine: u32) -> u32 {
  counts[lane] = mine;
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) { counts[lane] += counts[lane + stride]; }
    workgroupBarrier();
  }
  let total = counts[0];
  workgroupBarrier();
  return total;
}

// The smallest key that is kept: 0 without mining (every valid pixel).
fn miningThreshold(lane: u32) -> u32 {
  var valid = 0u;
  for (var p = lane; p < params.pixels; p += LANES) {
    if (partial[3u * p + 1u] > 0.0) { valid++; }
  }
  let k = max(1u, u32(floor(params.fraction * f32(sumCounts(lane, valid)))));
  // The largest T with at least k keys >= T, bit by bit from the top (bit 31, the sign, is 0).
  var threshold = 0u;
  for (var bit = 30i; bit >= 0i; bit--) {
    let candidate = threshold | (1u << u32(bit));
    var above = 0u;
    for (var p = lane; p < params.pixels; p += LANES) {
      if (partial[3u * p + 1u] > 0.0 && keyBits(p) >= candidate) { above++; }
    }
    if (sumCounts(lane, above) >= k) { threshold = candidate; }
  }
  return threshold;
}

@compute @workgroup_size(LANES)
fn main(@builtin(local_invocation_index) lane: u32) {
  var threshold = 0u;
  if (HARD == 1u) { threshold = miningThreshold(lane); }
  var total = vec3f(0.0);
  var carry = vec3f(0.0);
  for (var p = lane; p < params.pixels; p += LANES) {
    var t = vec3f(partial[3u * p], partial[3u * p + 1u], partial[3u * p + 2u]);
    if (HARD == 1u && !(t.y > 0.0 && keyBits(p) >= threshold)) { t = vec3f(0.0, 0.0, t.z); }
    let term = t - carry;
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
    if (HARD == 1u) { factor[1] = bitcast<f32>(threshold); }
    invalid[0] = u32(round(t.z));
  }
}
