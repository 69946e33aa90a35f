// Softmax cross-entropy with hard-pixel mining, pass 2 of 3 (src/kernels/cross-entropy.ts):
// one workgroup keeps only the k hardest valid pixels, k = max(1, floor(fraction * valid)),
// by their weighted loss w * nll (DeepLab's top_k_percent_pixels). The k-th largest key is
// found exactly by a binary search over the bit patterns of the keys (non-negative floats order
// like their u32 bits): 31 counting rounds, no atomics. Kept = valid with key >= that value
// (ties kept too). Then, with Kahan sums over the kept pixels:
//   loss   = scale * sum(w * nll) / sum(w)    factor = scale / sum(w)    (0 when none valid)
//   factor[1] = the threshold's bits, for pass 3.
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

// A pixel's key as ordered bits; a loss rounded below zero counts as 0.
fn keyBits(p: u32) -> u32 {
  let v = partial[3u * p];
  return select(bitcast<u32>(v), 0u, v <= 0.0);
}
var<workgroup> sums: array<vec3f, LANES>;

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

@compute @workgroup_size(LANES)
fn main(@builtin(local_invocation_index) lane: u32) {
  var valid = 0u;
  for (var p = lane; p < params.pixels; p += LANES) {
    if (partial[3u * p + 1u] > 0.0) { valid++; }
  }
  let total = sumCounts(lane, valid);
  let k = max(1u, u32(floor(params.fraction * f32(total))));
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
  var acc = vec3f(0.0);
  var carry = vec3f(0.0);
  for (var p = lane; p < params.pixels; p += LANES) {
    let w = partial[3u * p + 1u];
    let kept = w > 0.0 && keyBits(p) >= threshold;
    let term = vec3f(select(0.0, partial[3u * p], kept), select(0.0, w, kept), partial[3u * p + 2u]) - carry;
    let next = acc + term;
    carry = (next - acc) - term;
    acc = next;
  }
  sums[lane] = acc;
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) { sums[lane] += sums[lane + stride]; }
    workgroupBarrier();
  }
  if (lane == 0u) {
    let t = sums[0];
    let any = t.y > 0.0;
    loss[0] = select(0.0, params.scale * t.x / t.y, any);
    factor[0] = select(0.0, params.scale / t.y, any);
    factor[1] = bitcast<f32>(threshold);
    invalid[0] = u32(round(t.z));
  }
}
