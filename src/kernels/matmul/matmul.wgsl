// Batched matrix product out[b] = alpha * op(a[b]) op(b[b]), op a transpose where TRANS_A /
// TRANS_B say: attention's scores Q K^T and its weighted values A V, and their gradients.
// Each invocation computes a TM x TN block of one batch item's output (the variant's tile,
// src/kernels/matmul/tiles.ts), stepping over K with the TM values of A and TN of B it needs
// read straight from storage: no shared memory and no barriers, which software adapters
// (SwiftShader, lavapipe) run as costly thread switches; attention's inner sizes are small (the
// head size) or its rows short, and caches serve the re-reads. The block is written out as
// straight-line code, each accumulator a variable of its own (drivers that run a shader as
// written keep a private array indexed in a loop in memory). Rows and columns past M and N read
// the last one's values (clamped, never written), so any M, N and K work. Sums are f32.
//
// Module consts (the tile): TM, TN. Overrides: the workgroup WGX x WGY, TRANS_A, TRANS_B.
override WGX: u32 = 8u;
override WGY: u32 = 8u;
override TRANS_A: u32 = 0u;
override TRANS_B: u32 = 0u;

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

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let batch = gid.z;
  let m0 = gid.y * TM;
  let n0 = gid.x * TN;
  if (m0 >= params.M || n0 >= params.N) { return; }
  let M = params.M;
  let N = params.N;
  let K = params.K;
  // Row i of op(a) at k = 0, and the step to k + 1; column j of op(b) likewise.
  let aStep = select(1u, M, TRANS_A == 1u);
  let bStep = select(N, 1u, TRANS_B == 1u);
//#repeat i TM
  let mi{i} = min(m0 + {i}u, M - 1u);
  let aRow{i} = batch * M * K + select(mi{i} * K, mi{i}, TRANS_A == 1u);
//#end
//#repeat j TN
  let nj{j} = min(n0 + {j}u, N - 1u);
  let bCol{j} = batch * K * N + select(nj{j}, nj{j} * K, TRANS_B == 1u);
//#end
//#repeat i TM
//#repeat j TN
  var c{i}_{j} = 0.0;
//#end
//#end
  for (var k = 0u; k < K; k++) {
//#repeat j TN
    let bv{j} = f32(b[bCol{j} + k * bStep]);
//#end
//#repeat i TM
    let av{i} = f32(a[aRow{i} + k * aStep]);
//#repeat j TN
    c{i}_{j} += av{i} * bv{j};
//#end
//#end
  }
//#repeat i TM
//#repeat j TN
  if (m0 + {i}u < M && n0 + {j}u < N) { out[(batch * M + m0 + {i}u) * N + n0 + {j}u] = elem_t(params.alpha * c{i}_{j}); }
//#end
//#end
}
