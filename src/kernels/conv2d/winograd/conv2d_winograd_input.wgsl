// Winograd F(TILE x TILE, 3x3), stage 1: the input transform V = B^T d B of every tile's
// ALPHA x ALPHA input patch d (zeros in the padding), one input channel at a time, into
// V [ALPHA * ALPHA, tiles, Cin] (position-major: each position b is one GEMM's rows). With F4
// defined (conv2d_winograd_input_f4.wgsl): F(4x4, 3x3), else F(2x2, 3x3).
// Module consts TILE and ALPHA; one invocation a (tile, ci), ci fastest (coalesced). Written out
// as straight-line code (drivers that run shaders as written keep loops and arrays in memory).
// The transform computes in f32 and stores V as acc_t, the type the GEMM sums in (f16 in the
// f16-accumulating variant of half-precision programs; see winograd.ts for why f32 here).

override WG: u32 = 64u;

//#include "conv2d_winograd_params.wgsl"
@group(0) @binding(1) var<storage, read> input: array<elem_t>;  // NHWC
@group(0) @binding(2) var<storage, read_write> v: array<acc_t>;

// The input value at `index` where `inside`, else 0 (padding); the load stays in bounds.
fn load(inside: bool, index: u32) -> f32 {
  return select(0.0, f32(input[select(0u, index, inside)]), inside);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let cin = params.cin;
  let count = params.tiles * cin;
  if (i >= count) { return; }
  let ci = i % cin;
  let o = tileOrigin(i / cin, TILE);
  let ihBase = i32(o.oh) - params.padTop;
  let iwBase = i32(o.ow) - params.padLeft;
  // Rows and columns of the patch: d apart on the dilated grid.
//#repeat j ALPHA
  let ih{j} = ihBase + {j} * i32(params.dilH);
  let row{j} = (o.n * params.H + u32(max(ih{j}, 0))) * params.W;
  let iw{j} = iwBase + {j} * i32(params.dilW);
//#end
//#repeat j ALPHA
//#repeat k ALPHA
  let d{j}_{k} = load(ih{j} >= 0 && ih{j} < i32(params.H) && iw{k} >= 0 && iw{k} < i32(params.W), (row{j} + u32(max(iw{k}, 0))) * cin + ci);
//#end
//#end
  // B^T applied to each column of the patch (t = B^T d), then to each row of the result (v = t B).
//#if F4
//#repeat k ALPHA
  let t0_{k} = 4.0 * d0_{k} - 5.0 * d2_{k} + d4_{k};
  let t1_{k} = (d3_{k} + d4_{k}) - 4.0 * (d1_{k} + d2_{k});
  let t2_{k} = (d4_{k} - d3_{k}) + 4.0 * (d1_{k} - d2_{k});
  let t3_{k} = (d4_{k} - d2_{k}) + 2.0 * (d3_{k} - d1_{k});
  let t4_{k} = (d4_{k} - d2_{k}) - 2.0 * (d3_{k} - d1_{k});
  let t5_{k} = 4.0 * d1_{k} - 5.0 * d3_{k} + d5_{k};
//#end
//#repeat a ALPHA
  let v{a}_0 = 4.0 * t{a}_0 - 5.0 * t{a}_2 + t{a}_4;
  let v{a}_1 = (t{a}_3 + t{a}_4) - 4.0 * (t{a}_1 + t{a}_2);
  let v{a}_2 = (t{a}_4 - t{a}_3) + 4.0 * (t{a}_1 - t{a}_2);
  let v{a}_3 = (t{a}_4 - t{a}_2) + 2.0 * (t{a}_3 - t{a}_1);
  let v{a}_4 = (t{a}_4 - t{a}_2) - 2.0 * (t{a}_3 - t{a}_1);
  let v{a}_5 = 4.0 * t{a}_1 - 5.0 * t{a}_3 + t{a}_5;
//#end
//#else
//#repeat k ALPHA
  let t0_{k} = d0_{k} - d2_{k};
  let t1_{k} = d1_{k} + d2_{k};
  let t2_{k} = d2_{k} - d1_{k};
  let t3_{k} = d1_{k} - d3_{k};
//#end
//#repeat a ALPHA
  let v{a}_0 = t{a}_0 - t{a}_2;
  let v{a}_1 = t{a}_1 + t{a}_2;
  let v{a}_2 = t{a}_2 - t{a}_1;
  let v{a}_3 = t{a}_1 - t{a}_3;
//#end
//#endif
//#repeat a ALPHA
//#repeat b ALPHA
  v[{a*ALPHA+b} * count + i] = acc_t(v{a}_{b});
//#end
//#end
}
