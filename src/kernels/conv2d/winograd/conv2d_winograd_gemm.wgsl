// Winograd stage 2: ALPHA * ALPHA independent GEMMs M[b] = V[b] U[b], b a position of the
// transformed tile: V [ALPHA^2, tiles, Cin] from the input transform, U [ALPHA^2, Cin, Cout]
// from the weight transform, M [ALPHA^2, tiles, Cout] for the output transform. The implicit
// GEMM's register tile (gemm_register_tile.wgsl) on plain row-major operands: a workgroup owns R
// tiles (rows) and WG * CN output channels of one position b. The grid: positions x channel
// groups in x, blocks of rows in y, spilling into z.
//
// With SUBGROUPS defined (conv2d_winograd_gemm_subgroup.wgsl) the V operand is shared through
// subgroups (see gemm_register_tile.wgsl).
//
// The scratch is elem_t and summed in acc_t: f32, or f16 in the f16-accumulating variant, which
// winograd.ts compiles as a half-precision kernel (the scratch buffers are no tensors, so
// makeDispatch cannot tell by them).

override WG: u32 = 8u;
override R: u32 = 16u;
override CN: u32 = 8u;

//#include "conv2d_winograd_params.wgsl"
@group(0) @binding(1) var<storage, read> v: array<elem_t>;
@group(0) @binding(2) var<storage, read> u: array<elem_t>;
@group(0) @binding(3) var<storage, read_write> m: array<elem_t>;
alias tile_t = acc_t;
alias tile_acc_t = acc_t;
//#include "gemm_register_tile.wgsl"

fn tileA(i: u32) -> acc_t { return acc_t(v[i]); }
fn tileB(i: u32) -> acc_t { return acc_t(u[i]); }

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lane: u32,
//#if SUBGROUPS
  @builtin(subgroup_invocation_id) sgLane: u32,
  @builtin(subgroup_size) sgSize: u32,
//#endif
) {
//#if SUBGROUPS
//#else
  let sgLane = 0u;
  let sgSize = 0u;
//#endif
  let block = wid.y + wid.z * nwg.y;
  if (block >= params.tileBlocks) { return; }
  let t0 = block * R;
  let b = wid.x / params.coGroups;
  let coBase = (wid.x % params.coGroups) * WG * CN + lane;
  let tiles = params.tiles;
  let cin = params.cin;
  let cout = params.cout;

  // U[b] columns of this lane, clamped so edge lanes read valid memory (results dropped).
  var uCol: array<u32, CN_MAX>;
  for (var j = 0u; j < CN; j++) { uCol[j] = b * cin * cout + min(coBase + j * WG, cout - 1u); }
  // V[b] rows; rows past the last tile repeat it (never written).
  var vRow: array<u32, R_MAX>;
  for (var r = 0u; r < R; r++) { vRow[r] = (b * tiles + min(t0 + r, tiles - 1u)) * cin; }

  var acc: array<array<acc_t, CN_MAX>, R_MAX>;
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { acc[r][j] = acc_t(0.0); }
  }
  // Every row is a tile (TILE_A_MASKED is not defined): no row is masked.
  var unmasked: array<bool, R_MAX>;
  accumulateTile(&acc, &vRow, &unmasked, 0u, cin, 0u, cout, &uCol, sgLane, sgSize);

  // The stores as a loop with a run-time bound (unrolled, they slow lavapipe's compile: see
  // conv2d_gemm.wgsl), from an indexable copy so the main loop keeps its accumulators in registers.
  var res: array<acc_t, 128>;  // R_MAX * CN_MAX
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { res[r * CN + j] = acc[r][j]; }
  }
  let count = min(tiles - t0, params.rowsPerBlock) * CN;
  for (var i = 0u; i < count; i++) {
    let co = coBase + (i % CN) * WG;
    if (co < cout) { m[(b * tiles + t0 + i / CN) * cout + co] = elem_t(res[i]); }
  }
}
