// Batch-norm gradients, from the per-channel sums S0 = sum dy and S1 = sum dy * (x - mean)
// (channel_sums.wgsl MODE 2), with invstd = 1 / sqrt(var + eps):
//   frozen (MODE 0, running statistics): dx = dy * gamma * invstd
//   train  (MODE 1, batch statistics):   dx = gamma * invstd / M * (M dy - S0 - xhat * S1 * invstd)
//   both: dgamma = S1 * invstd, dbeta = S0: bn_param_grads.wgsl, a dispatch of its own, so that
//   neither kernel binds more than the 8 storage buffers every device allows.
override MODE: u32 = 0u;
override WG: u32 = 256u;

struct Params {
  total: u32, // rows * C
  channels: u32,
  rows: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> variance: array<f32>;
@group(0) @binding(6) var<storage, read> sums: array<f32>; // [2, C]: S0, S1
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let C = params.channels;
  let c = i % C;
  let invstd = 1.0 / sqrt(variance[c] + params.eps);
  let s0 = sums[c];
  let s1 = sums[C + c];
  if (MODE == 0u) {
    dx[i] = dy[i] * gamma[c] * invstd;
  } else {
    let M = f32(params.rows);
    let xhat = (x[i] - mean[c]) * invstd;
    dx[i] = gamma[c] * invstd / M * (M * dy[i] - s0 - xhat * s1 * invstd);
  }
}
