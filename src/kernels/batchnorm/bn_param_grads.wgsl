// Batch-norm parameter gradients from the per-channel sums S0 = sum dy and S1 = sum dy * (x - mean)
// (channel_sums.wgsl MODE 2): dgamma = S1 / sqrt(var + eps), dbeta = S0. One invocation a channel.
override WG: u32 = 64u;

struct Params {
  channels: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> variance: array<f32>;
@group(0) @binding(2) var<storage, read> sums: array<f32>; // [2, C]: S0, S1
@group(0) @binding(3) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbeta: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let C = params.channels;
  if (c >= C) { return; }
  dgamma[c] = sums[C + c] / sqrt(variance[c] + params.eps);
  dbeta[c] = sums[c];
}
