// A normalisation's parameter gradients (layer norm's and group norm's), one workgroup per
// channel c summing over every pixel: dgamma[c] = sum(dy * xhat), dbeta[c] = sum(dy), xhat from
// the statistics of the pixel's group (mean, 1 / deviation: the first two of each group's
// `statsStride` values). A layer norm's group is one pixel (a row; layernorm_grad_input.wgsl
// wrote its statistics), a group norm's a whole item (groupnorm_grad_stats.wgsl). The threads
// stride over the pixels and reduce in shared memory, in a fixed order (the same sums every run).
// A const, not an override: it sizes the workgroup arrays (docs/wgsl-rules.md, rule 8).
const WG: u32 = 64u;

struct Params {
  pixels: u32,      // pixels of every group
  perGroup: u32,    // pixels of a group
  channels: u32,
  statsStride: u32, // values of a group's statistics
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbeta: array<f32>;

var<workgroup> sumsGamma: array<f32, WG>;
var<workgroup> sumsBeta: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = wid.x + wid.y * nwg.x;
  // Uniform control flow for the barriers: a workgroup past the channels still takes part.
  let inRange = c < params.channels;
  var a = 0.0;
  var b = 0.0;
  if (inRange) {
    for (var p = lid; p < params.pixels; p += WG) {
      let i = p * params.channels + c;
      let s = params.statsStride * (p / params.perGroup);
      a += dy[i] * (x[i] - stats[s]) * stats[s + 1u];
      b += dy[i];
    }
  }
  sumsGamma[lid] = a;
  sumsBeta[lid] = b;
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) {
      sumsGamma[lid] += sumsGamma[lid + stride];
      sumsBeta[lid] += sumsBeta[lid + stride];
    }
  }
  if (lid == 0u && inRange) {
    dgamma[c] = sumsGamma[0];
    dbeta[c] = sumsBeta[0];
  }
}
