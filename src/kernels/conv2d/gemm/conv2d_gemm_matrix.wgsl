// Convolution with groups == 1 as an implicit GEMM multiplied on subgroup matrices (tensor
// cores), for adapters that offer Dawn's `chromium-experimental-subgroup-matrix`
// (src/kernels/conv2d/gemm/matrix.ts, kind 'matrix'):
//   out[m, co] = sum_k A[m, k] * B[k, co],  m = (n, oh, ow), k = (kh, kw, ci) with ci fastest.
//
// A workgroup computes a BM x BN block of the output with SGM x SGN subgroups; subgroup
// (sgRow, sgCol) holds TMS x TNS result matrices of SM_M x SM_N (f32). The reduction walks K in
// steps of BK = KS * SM_K: every invocation gathers its share of the A tile (BM x BK, from the
// input with the stride / pad / dilation arithmetic) and the B tile (BK x BN) into workgroup
// memory, row-major, zero past every edge, so the matrix loads never read out of bounds (they
// clamp rather than zero-fill there). Each subgroup then multiplies its matrices out of the
// tiles, while the next step's tiles are gathered into a second stage (double buffering, one
// barrier a step). The result matrices go through a per-subgroup f32 scratch for the epilogue, which
// bounds-checks every element and applies scale, bias, residual and activation as the other
// GEMM kernels do (or writes raw sums for split-K, conv2d_splitk_reduce.wgsl adds them).
//
// Inputs are staged in the storage type (elem_t: f32, or f16 in half-precision programs); the
// matrices multiply in it and accumulate in f32.
//
// Shape parameters arrive as module constants (KernelSpec.consts; a matrix type's dimensions
// cannot be overrides): SM_M, SM_N, SM_K, SGM, SGN, TMS, TNS, KS and LANES, the subgroup width
// the workgroup is sized for (the adapter's largest). Subgroups narrower than LANES leave the
// extra ones idle while multiplying; which subgroup an invocation is in is worked out from its
// index and the subgroup size.
//
// With MATRIX_EMULATED defined (conv2d_gemm_matrix_emulated.wgsl) the three built-ins are
// replaced by plain WGSL doing the same arithmetic on the same tiles, each "subgroup" being
// LANES consecutive invocations that share a result matrix out evenly. That is how the tiling,
// staging, edges, split-K and epilogue run on adapters without subgroup matrices (lavapipe).
//#if MATRIX_EMULATED
//#else
enable chromium_experimental_subgroup_matrix;
enable subgroups;
diagnostic(off, chromium.subgroup_matrix_uniformity);
//#endif
//#include "activation.wgsl"

override SPLIT_K: u32 = 0u;

const BM: u32 = SGM * TMS * SM_M;
const BN: u32 = SGN * TNS * SM_N;
const BK: u32 = KS * SM_K;
const SUBGROUPS: u32 = SGM * SGN;
const THREADS: u32 = SUBGROUPS * LANES;
const TILES: u32 = TMS * TNS;
const MATRIX: u32 = SM_M * SM_N;

//#include "conv2d_gemm_params.wgsl"
//#include "conv2d_gemm_operands.wgsl"

// Two stages of each tile (double buffering): A as [stage][BM][BK], B as [stage][BK][BN].
var<workgroup> tileA: array<elem_t, 2u * BM * BK>;
var<workgroup> tileB: array<elem_t, 2u * BK * BN>;
var<workgroup> results: array<f32, SUBGROUPS * MATRIX>;  // one result matrix per subgroup, [SM_M][SM_N]

// Gathers the A and B tiles of reduction step k0 into stage `at` (0 or 1), zero past every edge.
fn stage(at: u32, k0: u32, lane: u32, b: Block) {
  for (var i = lane; i < BM * BK; i += THREADS) {
    tileA[at * BM * BK + i] = elem_t(aValue(b.m0 + i / BK, k0 + i % BK, b));
  }
  for (var i = lane; i < BK * BN; i += THREADS) {
    tileB[at * BK * BN + i] = elem_t(bValue(k0 + i / BN, b.n0 + i % BN, b));
  }
}

//#if MATRIX_EMULATED
// A lane's share of a result matrix: elements lane, lane + LANES, ... in row-major order.
const SHARE: u32 = MATRIX / LANES;
//#else
alias LeftMatrix = subgroup_matrix_left<elem_t, SM_K, SM_M>;
alias RightMatrix = subgroup_matrix_right<elem_t, SM_N, SM_K>;
alias ResultMatrix = subgroup_matrix_result<f32, SM_N, SM_M>;
//#endif

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lane: u32,
//#if MATRIX_EMULATED
//#else
  @builtin(subgroup_invocation_id) subgroupLane: u32,
  @builtin(subgroup_size) subgroupSize: u32,
//#endif
) {
  let block = blockOf(wid, nwg, BM, BN);
  // Uniform per workgroup: a block past the last returns before any barrier, whole.
  if (block.past) { return; }
  let steps = (block.kLen + BK - 1u) / BK;

//#if MATRIX_EMULATED
  let width = LANES;
  let sgLane = lane % LANES;
  var acc: array<array<f32, SHARE>, TILES>;
  // Loop counts read at run time (rowsPerBlock is BM, so `one` is 1), so that loops stay loops:
  // unrolled, the emulated products took lavapipe 2-10 s to compile per variant.
  let one = params.rowsPerBlock / BM;
  let kSteps = KS * one;
  let tiles = TILES * one;
//#else
  let width = subgroupSize;
  let sgLane = subgroupLane;
  // Matrices stay in registers only where every index is known: constant counts.
  var acc: array<ResultMatrix, TILES>;
  let kSteps = KS;
  let tiles = TILES;
//#endif
  let sg = lane / width;
  let multiplies = sg < SUBGROUPS;
  let sgRow = sg / SGN;
  let sgCol = sg % SGN;

  stage(0u, 0u, lane, block);
  workgroupBarrier();
  for (var s = 0u; s < steps; s++) {
    // Gather step s + 1 into the other stage while this one is multiplied out: one barrier a step.
    if (s + 1u < steps) { stage((s + 1u) % 2u, (s + 1u) * BK, lane, block); }
    let aAt = (s % 2u) * BM * BK;
    let bAt = (s % 2u) * BK * BN;
    if (multiplies) {
      for (var kk = 0u; kk < kSteps; kk++) {
//#if MATRIX_EMULATED
        for (var t = 0u; t < tiles; t++) {
          let aRow0 = (sgRow * TMS + t / TNS) * SM_M;
          let bCol0 = (sgCol * TNS + t % TNS) * SM_N;
          for (var e = 0u; e < SHARE * one; e++) {
            let idx = sgLane + e * LANES;
            let a = aAt + (aRow0 + idx / SM_N) * BK + kk * SM_K;
            let b = bAt + kk * SM_K * BN + bCol0 + idx % SM_N;
            var sum = acc[t][e];
            for (var q = 0u; q < SM_K * one; q++) { sum += f32(tileA[a + q]) * f32(tileB[b + q * BN]); }
            acc[t][e] = sum;
          }
        }
//#else
        var left: array<LeftMatrix, TMS>;
        for (var i = 0u; i < TMS; i++) {
          left[i] = subgroupMatrixLoad<LeftMatrix, row_major>(&tileA, aAt + (sgRow * TMS + i) * SM_M * BK + kk * SM_K, BK);
        }
        for (var j = 0u; j < TNS; j++) {
          let right = subgroupMatrixLoad<RightMatrix, row_major>(&tileB, bAt + kk * SM_K * BN + (sgCol * TNS + j) * SM_N, BN);
          for (var i = 0u; i < TMS; i++) {
            acc[i * TNS + j] = subgroupMatrixMultiplyAccumulate(left[i], right, acc[i * TNS + j]);
          }
        }
//#endif
      }
    }
    workgroupBarrier();
  }

  // Epilogue, one result matrix of each subgroup at a time through its scratch.
  let scratch = sg * MATRIX;
  for (var t = 0u; t < tiles; t++) {
    if (multiplies) {
//#if MATRIX_EMULATED
      for (var e = 0u; e < SHARE; e++) { results[scratch + sgLane + e * LANES] = acc[t][e]; }
//#else
      subgroupMatrixStore<row_major>(&results, scratch, acc[t], SM_N);
//#endif
    }
    workgroupBarrier();
    if (multiplies) {
      let mBase = block.m0 + (sgRow * TMS + t / TNS) * SM_M;
      let coBase = block.n0 + (sgCol * TNS + t % TNS) * SM_N;
      for (var e = sgLane; e < MATRIX; e += width) {
        let m = mBase + e / SM_N;
        let co = coBase + e % SM_N;
        if (m >= params.M || co >= params.cout) { continue; }
        let idx = m * params.cout + co;
        var v = results[scratch + e];
        if (SPLIT_K != 0u) {
          out[block.split * params.M * params.cout + idx] = elem_t(v);
          continue;
        }
        out[idx] = elem_t(applyEpilogue(v, co, idx));
      }
    }
    workgroupBarrier();
  }
}
