// Winograd F(TILE x TILE, 3x3), stage 3: the output transform Y = A^T m A of every tile's
// ALPHA x ALPHA products m (the GEMM's M [ALPHA * ALPHA, tiles, Cout]), one output channel at a
// time, then the convolution's epilogue out = activate(y * scale[co] + bias[co] + residual) on
// the tile's outputs inside the map. With F4 defined (conv2d_winograd_output_f4.wgsl):
// F(4x4, 3x3), else F(2x2, 3x3).
// Module consts TILE and ALPHA; one invocation a (tile, co), co fastest (coalesced). The
// epilogue is a uniform (epilogueBits): one pipeline serves every epilogue. M is stored as
// acc_t, the type the GEMM summed it in (f16 in the f16-accumulating variant); the transform and
// the epilogue compute in f32.
//#include "activation.wgsl"

override WG: u32 = 64u;

//#include "conv2d_winograd_params.wgsl"
@group(0) @binding(1) var<storage, read> m: array<acc_t>;
@group(0) @binding(2) var<storage, read> bias: array<elem_t>;
@group(0) @binding(3) var<storage, read> scale: array<elem_t>;
@group(0) @binding(4) var<storage, read> residual: array<elem_t>;
@group(0) @binding(5) var<storage, read_write> out: array<elem_t>;

// Output (n, oh, ow), channel co: y through the epilogue, where the pixel is inside the map.
fn store(n: u32, oh: u32, ow: u32, co: u32, y: f32) {
  if (oh >= params.OH || ow >= params.OW) { return; }
  let idx = ((n * params.OH + oh) * params.OW + ow) * params.cout + co;
  let e = params.epilogue;
  var r = y;
  if ((e & 2u) != 0u) { r = r * f32(scale[co]); }
  if ((e & 1u) != 0u) { r = r + f32(bias[co]); }
  if ((e & 4u) != 0u) { r = r + f32(residual[idx]); }
  out[idx] = elem_t(activateAs(r, e >> 8u));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let cout = params.cout;
  let count = params.tiles * cout;
  if (i >= count) { return; }
  let co = i % cout;
  let o = tileOrigin(i / cout, TILE);
//#repeat a ALPHA
//#repeat b ALPHA
  let m{a}_{b} = f32(m[{a*ALPHA+b} * count + i]);
//#end
//#end
  // A^T applied to each column (t = A^T m), then to each row of the result (y = t A).
//#if F4
//#repeat k ALPHA
  let t0_{k} = m0_{k} + m1_{k} + m2_{k} + m3_{k} + m4_{k};
  let t1_{k} = (m1_{k} - m2_{k}) + 2.0 * (m3_{k} - m4_{k});
  let t2_{k} = (m1_{k} + m2_{k}) + 4.0 * (m3_{k} + m4_{k});
  let t3_{k} = (m1_{k} - m2_{k}) + 8.0 * (m3_{k} - m4_{k}) + m5_{k};
//#end
//#repeat a TILE
  let y{a}_0 = t{a}_0 + t{a}_1 + t{a}_2 + t{a}_3 + t{a}_4;
  let y{a}_1 = (t{a}_1 - t{a}_2) + 2.0 * (t{a}_3 - t{a}_4);
  let y{a}_2 = (t{a}_1 + t{a}_2) + 4.0 * (t{a}_3 + t{a}_4);
  let y{a}_3 = (t{a}_1 - t{a}_2) + 8.0 * (t{a}_3 - t{a}_4) + t{a}_5;
//#end
//#else
//#repeat k ALPHA
  let t0_{k} = m0_{k} + m1_{k} + m2_{k};
  let t1_{k} = m1_{k} - m2_{k} - m3_{k};
//#end
//#repeat a TILE
  let y{a}_0 = t{a}_0 + t{a}_1 + t{a}_2;
  let y{a}_1 = t{a}_1 - t{a}_2 - t{a}_3;
//#end
//#endif
  // Output (a, b) of the tile sits d apart on the dilated grid.
//#repeat a TILE
//#repeat b TILE
  store(o.n, o.oh + {a} * params.dilH, o.ow + {b} * params.dilW, co, y{a}_{b});
//#end
//#end
}
