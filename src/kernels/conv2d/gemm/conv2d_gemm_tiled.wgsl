// Convolution with groups == 1 as an implicit GEMM staged through workgroup memory, the
// GPU-class candidate of the tuning space (src/kernels/conv2d/gemm/candidates.ts):
//   out[m, co] = sum_k A[m, k] * B[k, co],  m = (n, oh, ow), k = (kh, kw, ci) with ci fastest,
// A gathered from the NHWC input with the stride / pad / dilation arithmetic (padding reads 0),
// B the HWIO weight read as [K, Cout].
//
// A workgroup computes a BM x BN block of the output (pixels x channels) with
// (BM / TM) x (BN / TN) threads, each keeping TM x TN accumulators. The reduction walks K in
// steps of BK: each step every thread loads its share of the A tile (BM x BK) and the B tile
// (BK x BN) into registers, stores them to one of two workgroup buffers, and the threads
// multiply out of the other, so loading step s + 1 overlaps computing step s with one barrier
// per step (double buffering). Consecutive threads read consecutive output channels of B, and
// of A consecutive pixels (a channel each); with VEC4 defined (conv2d_gemm_tiled_vec4.wgsl,
// channel counts that are multiples of 4) each thread reads four channels as one vec4 and
// consecutive threads consecutive channels. Whole steps of padding taps still cost their loads
// here (the register kernel skips them); large atrous rates are the register kernel's case.
//
// Split-K, as in conv2d_gemm.wgsl: workgroups along x also split the input channels into
// ranges of ciChunk (taps stay whole), raw partial sums go to `out` read as [splits, M, Cout]
// and conv2d_splitk_reduce.wgsl adds them up.
//
// Epilogue per element: out = activate(acc * scale[co] + bias[co] + residual[m, co]).
// Storage is elem_t (f32 or f16); the tiles are staged and summed in acc_t: f32 (exact products
// of f16 values), or f16 in the f16-accumulating variant of half-precision programs (half the
// workgroup memory). The epilogue is f32.
//#include "activation.wgsl"

override SPLIT_K: u32 = 0u;
// BM, BN and BK (the block and its depth) are module consts the spec sets (KernelSpec.consts):
// they size the workgroup arrays, and an override-sized workgroup array is not kept safely
// everywhere (docs/wgsl-rules.md, rule 8).
override TM: u32 = 4u;
override TN: u32 = 4u;
override WGX: u32 = 16u;  // BN / TN
override WGY: u32 = 16u;  // BM / TM
const T_MAX: u32 = 64u;   // TM * TN at most (8 x 8)
// Before the workgroup arrays: naga (wgpu: Firefox, Deno) panics creating the pipeline when an
// override with an expression initialiser follows an override-sized one (docs/wgsl-rules.md).
override THREADS: u32 = WGX * WGY;

//#include "conv2d_gemm_params.wgsl"

// Two stages of each tile: A as [stage][k][m], B as [stage][k][n] (k-major, so the inner
// product reads rows of both).
var<workgroup> tileA: array<acc_t, 2u * BK * BM>;
var<workgroup> tileB: array<acc_t, 2u * BK * BN>;

//#include "conv2d_gemm_operands.wgsl"

//#if VEC4
// The operands four channels at a time (conv2d_gemm_tiled_vec4.wgsl): Cin, each split's
// channels and Cout are multiples of 4 (gemm/variants.ts checks), so four consecutive k of one
// tap are four consecutive input channels, and four consecutive output channels one weight vec4.
@group(0) @binding(1) var<storage, read> input4: array<elem4_t>;
@group(0) @binding(2) var<storage, read> weight4: array<elem4_t>;

fn aValue4(m: u32, k: u32, b: Block) -> vec4f {
  let i = aIndex(m, k, b);
  if (i < 0) { return vec4f(0.0); }
  return vec4f(input4[u32(i) / 4u]);
}

fn bValue4(k: u32, co: u32, b: Block) -> vec4f {
  let i = bIndex(k, co, b);
  if (i < 0) { return vec4f(0.0); }
  return vec4f(weight4[u32(i) / 4u]);
}

// Loads the A and B tiles of reduction step k0 into the stage at row `at`: a vec4 a thread,
// neighbouring threads reading neighbouring channels.
fn stage(at: u32, k0: u32, lane: u32, b: Block) {
  for (var i = lane; i < BM * BK / 4u; i += THREADS) {
    let m = i / (BK / 4u);
    let k = (i % (BK / 4u)) * 4u;
    let v = acc4_t(aValue4(b.m0 + m, k0 + k, b));
    tileA[(at + k) * BM + m] = v.x;
    tileA[(at + k + 1u) * BM + m] = v.y;
    tileA[(at + k + 2u) * BM + m] = v.z;
    tileA[(at + k + 3u) * BM + m] = v.w;
  }
  for (var i = lane; i < BK * BN / 4u; i += THREADS) {
    let k = i / (BN / 4u);
    let n = (i % (BN / 4u)) * 4u;
    let v = acc4_t(bValue4(k0 + k, b.n0 + n, b));
    let row = (at + k) * BN + n;
    tileB[row] = v.x;
    tileB[row + 1u] = v.y;
    tileB[row + 2u] = v.z;
    tileB[row + 3u] = v.w;
  }
}
//#else
// Loads the A and B tiles of reduction step k0 into the stage at row `at`, a value a thread:
// neighbouring threads read neighbouring pixels of A (one channel each) and neighbouring
// output channels of B.
fn stage(at: u32, k0: u32, lane: u32, b: Block) {
  for (var i = lane; i < BK * BM; i += THREADS) {
    let k = i / BM;
    tileA[(at + k) * BM + i % BM] = acc_t(aValue(b.m0 + i % BM, k0 + k, b));
  }
  for (var i = lane; i < BK * BN; i += THREADS) {
    let k = i / BN;
    tileB[(at + k) * BN + i % BN] = acc_t(bValue(k0 + k, b.n0 + i % BN, b));
  }
}
//#endif

@compute @workgroup_size(WGX, WGY)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let block = blockOf(wid, nwg, BM, BN);
  // Uniform per workgroup: a block past the last returns before any barrier, whole.
  if (block.past) { return; }
  let steps = (block.kLen + BK - 1u) / BK;

  var acc: array<acc_t, T_MAX>;
  for (var i = 0u; i < TM * TN; i++) { acc[i] = acc_t(0.0); }

  // Stage 0 of step 0.
  stage(0u, 0u, lane, block);
  workgroupBarrier();

  for (var s = 0u; s < steps; s++) {
    let cur = (s % 2u) * BK;
    let nxt = ((s + 1u) % 2u) * BK;
    // Load step s + 1 into the other stage while this one is multiplied out.
    if (s + 1u < steps) { stage(nxt, (s + 1u) * BK, lane, block); }
    for (var k = 0u; k < BK; k++) {
      var a: array<acc_t, 8>;
      var b: array<acc_t, 8>;
      // Thread (x, y) owns pixels y + r * WGY and channels x + j * WGX: strided, so neighbouring
      // threads read neighbouring words of the tiles.
      for (var r = 0u; r < TM; r++) { a[r] = tileA[(cur + k) * BM + lid.y + r * WGY]; }
      for (var j = 0u; j < TN; j++) { b[j] = tileB[(cur + k) * BN + lid.x + j * WGX]; }
      for (var r = 0u; r < TM; r++) {
        for (var j = 0u; j < TN; j++) { acc[r * TN + j] += a[r] * b[j]; }
      }
    }
    workgroupBarrier();
  }

  for (var r = 0u; r < TM; r++) {
    let m = block.m0 + lid.y + r * WGY;
    if (m >= params.M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let co = block.n0 + lid.x + j * WGX;
      if (co >= params.cout) { continue; }
      let idx = m * params.cout + co;
      var v = f32(acc[r * TN + j]);
      if (SPLIT_K != 0u) {
        out[block.split * params.M * params.cout + idx] = elem_t(v);
        continue;
      }
      out[idx] = elem_t(applyEpilogue(v, co, idx));
    }
  }
}
