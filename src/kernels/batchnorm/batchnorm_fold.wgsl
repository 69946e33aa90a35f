// Folds an inference batch norm into the preceding convolution, on the GPU, so folded weights
// are derived again from the parameters wherever they live (after training, after an upload):
//   scale = gamma / sqrt(variance + eps)
//   weight'[..., co] = weight[..., co] * scale[co]     (HWIO: the output channel is fastest)
//   bias'[co] = beta[co] + (bias[co] - mean[co]) * scale[co]   (bias 0 without a conv bias)
// One invocation per weight element; the first Cout invocations also write the bias.

override WG: u32 = 256u;
override HAS_BIAS: u32 = 0u;

struct Params {
  total: u32, // weight elements
  cout: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> variance: array<f32>;
@group(0) @binding(7) var<storage, read_write> folded_weight: array<f32>;
@group(0) @binding(8) var<storage, read_write> folded_bias: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let c = i % params.cout;
  // sqrt then divide, as the batch-norm kernel: inverseSqrt's precision is looser in WGSL.
  let scale = gamma[c] / sqrt(variance[c] + params.eps);
  folded_weight[i] = weight[i] * scale;
  if (i < params.cout) {
    var b = 0.0;
    if (HAS_BIAS == 1u) { b = bias[i]; }
    folded_bias[i] = beta[i] + (b - mean[i]) * scale;
  }
}
