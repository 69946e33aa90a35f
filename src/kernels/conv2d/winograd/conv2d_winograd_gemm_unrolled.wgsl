// The Winograd GEMM (conv2d_winograd_gemm.wgsl) with its register tile written out as
// straight-line code: PX rows (tiles, workgroup-uniform) by CG channels a lane, each accumulator
// a variable of its own. For drivers that run a shader as written (SwiftShader keeps loops as
// loops and private arrays indexed in them in memory; see conv2d_gemm_unrolled.wgsl, whose
// pointwise path this is, on the transformed operands).
//
// With SUBGROUPS defined (conv2d_winograd_gemm_unrolled_subgroup.wgsl) the workgroup is one
// subgroup of SG lanes: lane l loads input channel ci + l of each row, and subgroupBroadcast
// (a constant lane) hands each of the SG channels to every lane in turn. The channels left
// after whole chunks of SG run one at a time.
// Module consts: PX, CG, and SG (with SUBGROUPS).
// The scratch is elem_t and summed in acc_t: f32, or f16 in the f16-accumulating variant (a
// half-precision kernel: see conv2d_winograd_gemm.wgsl).

override WG: u32 = 8u;

//#include "conv2d_winograd_params.wgsl"
@group(0) @binding(1) var<storage, read> v: array<elem_t>;
@group(0) @binding(2) var<storage, read> u: array<elem_t>;
@group(0) @binding(3) var<storage, read_write> m: array<elem_t>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
//#if SUBGROUPS
  @builtin(subgroup_invocation_id) lane: u32,
//#else
  @builtin(local_invocation_index) lane: u32,
//#endif
) {
  let block = wid.y + wid.z * nwg.y;
  if (block >= params.tileBlocks) { return; }
  let t0 = block * PX;
  let b = wid.x / params.coGroups;
  let coBase = (wid.x % params.coGroups) * WG * CG + lane;
  let tiles = params.tiles;
  let cin = params.cin;
  let cout = params.cout;
  // U[b] columns (clamped: edge lanes' results are dropped) and V[b] rows (past the last tile: the last).
//#repeat g CG
  let col{g} = b * cin * cout + min(coBase + {g}u * WG, cout - 1u);
//#end
//#repeat p PX
  let row{p} = (b * tiles + min(t0 + {p}u, tiles - 1u)) * cin;
//#end
//#repeat p PX
//#repeat g CG
  var a{p}_{g} = acc_t(0.0);
//#end
//#end
//#if SUBGROUPS
  let chunks = cin / SG;
  for (var c = 0u; c < chunks; c++) {
    let ci = c * SG;
//#repeat p PX
    let x{p} = acc_t(v[row{p} + ci + lane]);
//#end
//#repeat kk SG
    {
      let uRow = (ci + {kk}u) * cout;
//#repeat g CG
      let w{g} = acc_t(u[col{g} + uRow]);
//#end
//#repeat p PX
      let s{p} = subgroupBroadcast(x{p}, {kk}u);
//#repeat g CG
      a{p}_{g} += s{p} * w{g};
//#end
//#end
    }
//#end
  }
  let first = chunks * SG;
//#else
  let first = 0u;
//#endif
  for (var ci = first; ci < cin; ci++) {
    let uRow = ci * cout;
//#repeat g CG
    let w{g} = acc_t(u[col{g} + uRow]);
//#end
//#repeat p PX
    let x{p} = acc_t(v[row{p} + ci]);
//#repeat g CG
    a{p}_{g} += x{p} * w{g};
//#end
//#end
  }

  // The stores as a loop over an array (written out, they multiply SwiftShader's compile time:
  // see conv2d_gemm_unrolled.wgsl).
  var res: array<acc_t, PX * CG>;
//#repeat p PX
//#repeat g CG
  res[{p*CG+g}] = a{p}_{g};
//#end
//#end
  let count = min(tiles - t0, PX) * CG;
  for (var i = 0u; i < count; i++) {
    let co = coBase + (i % CG) * WG;
    if (co < cout) { m[(b * tiles + t0 + i / CG) * cout + co] = elem_t(res[i]); }
  }
}
