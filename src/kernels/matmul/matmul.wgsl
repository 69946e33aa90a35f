// Batched matrix product out[b] = alpha * op(a[b]) op(b[b]), op a transpose where TRANS_A /
// TRANS_B say: attention's scores Q K^T and its weighted values A V, and their gradients.
// Each workgroup computes a TILE x TILE block of one batch item's output, one element per
// invocation, stepping over K a tile at a time through shared memory; reads outside the
// matrices load zeros, so any M, N and K work.
override TRANS_A: u32 = 0u;
override TRANS_B: u32 = 0u;

const TILE: u32 = 16u;

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

var<workgroup> tileA: array<array<f32, 16>, 16>; // [row m][k]
var<workgroup> tileB: array<array<f32, 16>, 16>; // [k][column n]

fn loadA(batch: u32, m: u32, k: u32) -> f32 {
  if (m >= params.M || k >= params.K) { return 0.0; }
  let base = batch * params.M * params.K;
  if (TRANS_A == 1u) { return f32(a[base + k * params.M + m]); }
  return f32(a[base + m * params.K + k]);
}

fn loadB(batch: u32, k: u32, n: u32) -> f32 {
  if (k >= params.K || n >= params.N) { return 0.0; }
  let base = batch * params.K * params.N;
  if (TRANS_B == 1u) { return f32(b[base + n * params.K + k]); }
  return f32(b[base + k * params.N + n]);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let batch = wid.z;
  let m = wid.y * TILE + lid.y;
  let n = wid.x * TILE + lid.x;
  var acc = 0.0;
  for (var k0 = 0u; k0 < params.K; k0 += TILE) {
    tileA[lid.y][lid.x] = loadA(batch, m, k0 + lid.x);
    tileB[lid.y][lid.x] = loadB(batch, k0 + lid.y, n);
    workgroupBarrier();
    for (var k = 0u; k < TILE; k++) { acc += tileA[lid.y][k] * tileB[k][lid.x]; }
    workgroupBarrier();
  }
  if (m < params.M && n < params.N) { out[(batch * params.M + m) * params.N + n] = elem_t(params.alpha * acc); }
}
