// The implicit-GEMM convolution (conv2d_gemm.wgsl) with its register tile written out as
// straight-line code (gemm_unrolled_tile.wgsl): PX output pixels (workgroup-uniform) by CG
// channels a lane, each accumulator a variable of its own, for drivers that run a shader as
// written (SwiftShader; lavapipe unrolls and promotes conv2d_gemm.wgsl's arrays itself, and
// prefers it). Every storage load is a per-lane gather on such a driver, so the tile is sized
// for many multiply-adds per load. The reduction's steps are a tap and a chunk of input channels
// each; POINTWISE layers (1x1, no padding: every tap inside) work out their pixels' offsets
// once, before it.
//
// With SUBGROUPS defined (conv2d_gemm_unrolled_subgroup.wgsl) the workgroup is one subgroup of SG
// lanes, the input shared by broadcasts (see the tile).
//
// Module consts (the variant's, src/kernels/conv2d/gemm/types.ts): PX pixels, CG channels a
// lane, SG subgroup lanes, and POINTWISE (1 or 0). Channel j of a lane is co = base + j * WG +
// lane (coalesced, as in conv2d_gemm.wgsl). Split-K and the epilogue are conv2d_gemm.wgsl's,
// the epilogue read from a uniform (one pipeline serves every epilogue: compiles are slow where
// this kernel runs). The operands are widened as loaded to acc_t, the type they are summed in:
// f32, or f16 in the f16-accumulating variant of half-precision programs; the epilogue is f32.
//#define UNROLLED_TAPS
//#include "activation.wgsl"

// Lanes a workgroup has (the subgroup variant: exactly one subgroup, SG).
override WG: u32 = 8u;
override SPLIT_K: u32 = 0u;

//#include "conv2d_gemm_params.wgsl"

// One accumulator through the epilogue (or into the split-K scratch) at pixel m, channel co.
fn store(m: u32, co: u32, acc: f32, split: u32) {
  if (m >= params.M || co >= params.cout) { return; }
  let idx = m * params.cout + co;
  if (SPLIT_K != 0u) {
    out[split * params.M * params.cout + idx] = elem_t(acc);
    return;
  }
  out[idx] = elem_t(applyEpilogue(acc, co, idx));
}

// The tile's operands (gemm_unrolled_tile.wgsl), widened as loaded to the type they are summed in.
fn tileA(i: u32) -> acc_t { return acc_t(input[i]); }
fn tileB(i: u32) -> acc_t { return acc_t(weight[i]); }

// A pixel's input offset at tap (kh, kw), or OUTSIDE where the tap falls into the zero padding.
const OUTSIDE = 0xffffffffu;
fn tapOffset(ih0: i32, iw0: i32, row: u32, kh: u32, kw: u32) -> u32 {
  let ih = ih0 + i32(kh * params.dilH);
  let iw = iw0 + i32(kw * params.dilW);
  let inside = ih >= 0 && ih < i32(params.H) && iw >= 0 && iw < i32(params.W);
  return select(OUTSIDE, ((row + u32(ih)) * params.W + u32(iw)) * params.cin, inside);
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
//#if SUBGROUPS
  // The workgroup is one subgroup: its lanes are the subgroup's, whatever their local index.
  @builtin(subgroup_invocation_id) lane: u32,
//#else
  @builtin(local_invocation_index) lane: u32,
//#endif
) {
  let mBlock = wid.y + wid.z * nwg.y;
  if (mBlock >= params.mBlocks) { return; }
  let m0 = mBlock * PX;
  let split = wid.x / params.coGroups;
  let coBase = (wid.x % params.coGroups) * WG * CG + lane;
  let ciBegin = split * params.ciChunk;
  let ciEnd = min(params.cin, ciBegin + params.ciChunk);

  // Weight columns, clamped so edge lanes read valid memory (their results are dropped).
//#repeat g CG
  let bCol{g} = min(coBase + {g}u * WG, params.cout - 1u);
//#end
  // Receptive-field origin of each pixel, and its offset at the current tap (pointwise layers:
  // the only tap, set here). Pixels past M repeat the last one (never written).
//#repeat p PX
  let mc{p} = min(m0 + {p}u, params.M - 1u);
  let t{p} = mc{p} / params.OW;
  let ih0_{p} = i32((t{p} % params.OH) * params.strideH) - params.padTop;
  let iw0_{p} = i32((mc{p} % params.OW) * params.strideW) - params.padLeft;
  let n0_{p} = (t{p} / params.OH) * params.H;
  var aOff{p} = tapOffset(ih0_{p}, iw0_{p}, n0_{p}, 0u, 0u);
//#end
//#repeat p PX
//#repeat g CG
  var a{p}_{g} = acc_t(0.0);
//#end
//#end

  let taps = params.KH * params.KW;
  let kBegin = ciBegin;
  let kEnd = ciEnd;
  let K = params.cin;
  let N = params.cout;
//#include "gemm_unrolled_tile.wgsl"

  // The epilogue as a loop over an array (a gather a value on SwiftShader, next to the K loop's
  // thousands): written out PX * CG times, it tripled the kernel's compile time there.
  var res: array<f32, PX * CG>;
//#repeat p PX
//#repeat g CG
  res[{p*CG+g}] = f32(a{p}_{g});
//#end
//#end
  for (var i = 0u; i < PX * CG; i++) { store(m0 + i / CG, coBase + (i % CG) * WG, res[i], split); }
}
