// One batch item's statistics for group norm's kernels (groupnorm_stats.wgsl and
// groupnorm_grad_stats.wgsl), one workgroup per item: the threads stride over the item's values
// and reduce in shared memory in a fixed order (the same sums every run). The including kernel
// defines `WG` (a const: it sizes the arrays) and `item_value(i)`, the item's value at flat index i.

var<workgroup> partial: array<f32, WG>;
var<workgroup> partial2: array<f32, WG>;

// The workgroup's sums of every thread's `a` and `b`; called in uniform control flow.
fn workgroupSums(lid: u32, a: f32, b: f32) -> vec2f {
  partial[lid] = a;
  partial2[lid] = b;
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
      partial2[lid] += partial2[lid + stride];
    }
  }
  workgroupBarrier();
  let total = vec2f(partial[0], partial2[0]);
  workgroupBarrier();
  return total;
}

// The mean and 1 / sqrt(var + eps) of the values [base, base + count) (count 0 for a workgroup
// past the items, which still takes part in the barriers), the biased variance computed about
// the mean (two passes, so large offsets cancel exactly); `m` is the item's true value count.
fn item_mean_rstd(lid: u32, base: u32, count: u32, m: f32, eps: f32) -> vec2f {
  var sum = 0.0;
  for (var i = lid; i < count; i += WG) { sum += item_value(base + i); }
  let mean = workgroupSums(lid, sum, 0.0).x / m;
  var squares = 0.0;
  for (var i = lid; i < count; i += WG) {
    let d = item_value(base + i) - mean;
    squares += d * d;
  }
  return vec2f(mean, inverseSqrt(workgroupSums(lid, squares, 0.0).x / m + eps));
}
