// Layer normalisation over the last axis, one invocation per row (a token's channels: 64 to 240
// in MobileViT, short enough for a serial loop): y = (x - mean) / sqrt(var + eps) * gamma + beta
// with the biased variance, computed about the mean (two passes) so large offsets cancel exactly.
override WG: u32 = 64u;

struct Params {
  rows: u32,
  channels: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read> gamma: array<elem_t>;
@group(0) @binding(3) var<storage, read> beta: array<elem_t>;
@group(0) @binding(4) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let C = params.channels;
  let base = row * C;
  var sum = 0.0;
  for (var c = 0u; c < C; c++) { sum += f32(input[base + c]); }
  let mean = sum / f32(C);
  var squares = 0.0;
  for (var c = 0u; c < C; c++) {
    let d = f32(input[base + c]) - mean;
    squares += d * d;
  }
  let rstd = inverseSqrt(squares / f32(C) + params.eps);
  for (var c = 0u; c < C; c++) {
    out[base + c] = elem_t((f32(input[base + c]) - mean) * rstd * f32(gamma[c]) + f32(beta[c]));
  }
}
