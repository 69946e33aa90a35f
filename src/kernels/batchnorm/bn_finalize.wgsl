// Per-channel finishing steps of training-mode batch norm, one invocation per channel.
//   MODE 0: mean = sum / rows
//   MODE 1: var = sum / rows (biased, what the normalisation uses); the running statistics are
//           updated in place as PyTorch does: running_mean = (1 - m) running_mean + m mean,
//           running_var = (1 - m) running_var + m var * rows / (rows - 1)
override MODE: u32 = 0u;
override WG: u32 = 64u;

struct Params {
  channels: u32,
  rows: u32,
  momentum: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> sums: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;          // mean (MODE 0) or var (MODE 1)
@group(0) @binding(4) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_var: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= params.channels) { return; }
  let n = f32(params.rows);
  let v = sums[c] / n;
  out[c] = v;
  if (MODE == 1u) {
    let m = params.momentum;
    running_mean[c] = (1.0 - m) * running_mean[c] + m * mean[c];
    running_var[c] = (1.0 - m) * running_var[c] + m * v * n / max(n - 1.0, 1.0);
  }
}
