// Winograd F(TILE x TILE, 3x3), stage 0: the weight transform U = G g G^T of every (input
// channel, output channel) pair, into U [ALPHA * ALPHA, Cin, Cout] (position-major: the GEMM
// multiplies V[b] by U[b] for each of the ALPHA * ALPHA positions b). Computed from the weight
// on every run (the weight may change between runs while training). With F4 defined
// (conv2d_winograd_weight_f4.wgsl): F(4x4, 3x3), else F(2x2, 3x3).
// Module consts TILE and ALPHA; one invocation a (ci, co), co fastest (coalesced). The transform
// computes in f32 and stores U as acc_t, the type the GEMM sums in (f16 in the f16-accumulating
// variant of half-precision programs).

override WG: u32 = 64u;

//#include "conv2d_winograd_params.wgsl"
@group(0) @binding(1) var<storage, read> weight: array<elem_t>;  // HWIO [3, 3, Cin, Cout]
@group(0) @binding(2) var<storage, read_write> u: array<acc_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let cin = params.cin;
  let cout = params.cout;
  if (i >= cin * cout) { return; }
  let ci = i / cout;
  let co = i % cout;
//#repeat kh 3
//#repeat kw 3
  let g{kh}_{kw} = f32(weight[({kh*3+kw} * cin + ci) * cout + co]);
//#end
//#end
  // G applied to each column of taps (t = G g), then to each row of the result (u = t G^T).
//#if F4
//#repeat k 3
  let t0_{k} = g0_{k} * 0.25;
  let t1_{k} = (g0_{k} + g1_{k} + g2_{k}) * (-1.0 / 6.0);
  let t2_{k} = (g0_{k} - g1_{k} + g2_{k}) * (-1.0 / 6.0);
  let t3_{k} = g0_{k} * (1.0 / 24.0) + g1_{k} * (1.0 / 12.0) + g2_{k} * (1.0 / 6.0);
  let t4_{k} = g0_{k} * (1.0 / 24.0) - g1_{k} * (1.0 / 12.0) + g2_{k} * (1.0 / 6.0);
  let t5_{k} = g2_{k};
//#end
//#repeat a ALPHA
  let u{a}_0 = t{a}_0 * 0.25;
  let u{a}_1 = (t{a}_0 + t{a}_1 + t{a}_2) * (-1.0 / 6.0);
  let u{a}_2 = (t{a}_0 - t{a}_1 + t{a}_2) * (-1.0 / 6.0);
  let u{a}_3 = t{a}_0 * (1.0 / 24.0) + t{a}_1 * (1.0 / 12.0) + t{a}_2 * (1.0 / 6.0);
  let u{a}_4 = t{a}_0 * (1.0 / 24.0) - t{a}_1 * (1.0 / 12.0) + t{a}_2 * (1.0 / 6.0);
  let u{a}_5 = t{a}_2;
//#end
//#else
//#repeat k 3
  let t0_{k} = g0_{k};
  let t1_{k} = (g0_{k} + g1_{k} + g2_{k}) * 0.5;
  let t2_{k} = (g0_{k} - g1_{k} + g2_{k}) * 0.5;
  let t3_{k} = g2_{k};
//#end
//#repeat a ALPHA
  let u{a}_0 = t{a}_0;
  let u{a}_1 = (t{a}_0 + t{a}_1 + t{a}_2) * 0.5;
  let u{a}_2 = (t{a}_0 - t{a}_1 + t{a}_2) * 0.5;
  let u{a}_3 = t{a}_2;
//#end
//#endif
//#repeat a ALPHA
//#repeat b ALPHA
  u[{a*ALPHA+b} * cin * cout + i] = acc_t(u{a}_{b});
//#end
//#end
}
