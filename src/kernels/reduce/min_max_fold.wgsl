// A workgroup of 256 lanes folds each lane's (lo, hi) into lows[0] = the least lo, highs[0] = the
// greatest hi, halving the span between barriers (no atomics: every lane reaches each barrier).
// The includer's workgroup size is 256 and it calls foldRange from uniform control flow.
var<workgroup> lows: array<f32, 256>;
var<workgroup> highs: array<f32, 256>;

fn foldRange(lid: u32, lo: f32, hi: f32) {
  lows[lid] = lo;
  highs[lid] = hi;
  for (var span = 128u; span > 0u; span = span / 2u) {
    workgroupBarrier();
    if (lid < span) {
      lows[lid] = min(lows[lid], lows[lid + span]);
      highs[lid] = max(highs[lid], highs[lid + span]);
    }
  }
}
