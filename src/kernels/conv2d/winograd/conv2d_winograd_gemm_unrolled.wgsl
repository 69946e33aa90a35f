// The Winograd GEMM (conv2d_winograd_gemm.wgsl) with its register tile written out as
// straight-line code (gemm_unrolled_tile.wgsl, the implicit GEMM's pointwise path on the
// transformed operands): PX rows (tiles, workgroup-uniform) by CG channels a lane, each
// accumulator a variable of its own, for drivers that run a shader as written (SwiftShader).
//
// With SUBGROUPS defined (conv2d_winograd_gemm_unrolled_subgroup.wgsl) the workgroup is one
// subgroup of SG lanes, V shared by broadcasts (see the tile).
// Module consts: PX, CG, and SG (with SUBGROUPS).
// The scratch is elem_t and summed in acc_t: f32, or f16 in the f16-accumulating variant (a
// half-precision kernel: see conv2d_winograd_gemm.wgsl).

override WG: u32 = 8u;

//#include "conv2d_winograd_params.wgsl"
@group(0) @binding(1) var<storage, read> v: array<elem_t>;
@group(0) @binding(2) var<storage, read> u: array<elem_t>;
@group(0) @binding(3) var<storage, read_write> m: array<elem_t>;

fn tileA(i: u32) -> acc_t { return acc_t(v[i]); }
fn tileB(i: u32) -> acc_t { return acc_t(u[i]); }

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
  let bCol{g} = b * cin * cout + min(coBase + {g}u * WG, cout - 1u);
//#end
//#repeat p PX
  let aOff{p} = (b * tiles + min(t0 + {p}u, tiles - 1u)) * cin;
//#end
//#repeat p PX
//#repeat g CG
  var a{p}_{g} = acc_t(0.0);
//#end
//#end
  // One tap: V[b] (tiles x Cin) by U[b] (Cin x Cout).
  let taps = 1u;
  let kBegin = 0u;
  let kEnd = cin;
  let K = cin;
  let N = cout;
//#include "gemm_unrolled_tile.wgsl"

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
