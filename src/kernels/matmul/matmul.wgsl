// Batched matrix product out[b] = alpha * op(a[b]) op(b[b]), op a transpose where TRANS_A /
// TRANS_B say: attention's scores Q K^T and its weighted values A V, and their gradients.
// Each invocation computes a 4x4 block of one batch item's output, stepping over K with the 4
// values of A and of B it needs read straight from storage: no shared memory and no barriers,
// which software adapters (SwiftShader, lavapipe) run as costly thread switches; attention's
// inner sizes are small (the head size) or its rows short, and caches serve the re-reads.
// Reads outside the matrices load zeros, so any M, N and K work.
override TRANS_A: u32 = 0u;
override TRANS_B: u32 = 0u;

/** Rows and columns of the block each invocation computes. */
const BLOCK: u32 = 4u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<elem_t>;   // [batch, M, K], or [batch, K, M] transposed
@group(0) @binding(2) var<storage, read> b: array<elem_t>;   // [batch, K, N], or [batch, N, K] transposed
@group(0) @binding(3) var<storage, read_write> out: array<elem_t>; // [batch, M, N]

fn loadA(base: u32, m: u32, k: u32) -> f32 {
  if (m >= params.M) { return 0.0; }
  if (TRANS_A == 1u) { return f32(a[base + k * params.M + m]); }
  return f32(a[base + m * params.K + k]);
}

fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (n >= params.N) { return 0.0; }
  if (TRANS_B == 1u) { return f32(b[base + n * params.K + k]); }
  return f32(b[base + k * params.N + n]);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let batch = gid.z;
  let m0 = gid.y * BLOCK;
  let n0 = gid.x * BLOCK;
  if (m0 >= params.M || n0 >= params.N) { return; }
  let aBase = batch * params.M * params.K;
  let bBase = batch * params.K * params.N;
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < params.K; k++) {
    let bv = vec4<f32>(loadB(bBase, k, n0), loadB(bBase, k, n0 + 1u), loadB(bBase, k, n0 + 2u), loadB(bBase, k, n0 + 3u));
    for (var i = 0u; i < BLOCK; i++) { acc[i] += loadA(aBase, m0 + i, k) * bv; }
  }
  for (var i = 0u; i < BLOCK; i++) {
    let m = m0 + i;
    if (m >= params.M) { break; }
    for (var j = 0u; j < BLOCK; j++) {
      if (n0 + j < params.N) { out[(batch * params.M + m) * params.N + n0 + j] = elem_t(params.alpha * acc[i][j]); }
    }
  }
}
