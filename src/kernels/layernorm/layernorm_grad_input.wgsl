// Layer norm's input gradient, one invocation per row: with xhat = (x - mean) * rstd and
// g = dy * gamma, dx = rstd * (g - mean(g) - xhat * mean(g * xhat)). Each row's mean and rstd
// go to `stats` for the parameter gradients (layernorm_grad_params.wgsl).
override WG: u32 = 64u;

struct Params {
  rows: u32,
  channels: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>; // [rows, 2]: mean, rstd

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let C = params.channels;
  let n = f32(C);
  let base = row * C;
  var sum = 0.0;
  for (var c = 0u; c < C; c++) { sum += x[base + c]; }
  let mean = sum / n;
  var squares = 0.0;
  for (var c = 0u; c < C; c++) {
    let d = x[base + c] - mean;
    squares += d * d;
  }
  let rstd = inverseSqrt(squares / n + params.eps);
  var meanG = 0.0;
  var meanGX = 0.0;
  for (var c = 0u; c < C; c++) {
    let g = dy[base + c] * gamma[c];
    meanG += g;
    meanGX += g * (x[base + c] - mean) * rstd;
  }
  meanG /= n;
  meanGX /= n;
  for (var c = 0u; c < C; c++) {
    let xhat = (x[base + c] - mean) * rstd;
    dx[base + c] = rstd * (dy[base + c] * gamma[c] - meanG - xhat * meanGX);
  }
  stats[2u * row] = mean;
  stats[2u * row + 1u] = rstd;
}
