// Winograd stage 2: ALPHA * ALPHA independent GEMMs M[b] = V[b] U[b], b a position of the
// transformed tile: V [ALPHA^2, tiles, Cin] from the input transform, U [ALPHA^2, Cin, Cout]
// from the weight transform, M [ALPHA^2, tiles, Cout] for the output transform. The register
// tile of the implicit GEMM (conv2d_gemm.wgsl) on plain row-major operands: a workgroup owns R
// tiles (rows, workgroup-uniform) and WG * CN output channels of one position b; each lane keeps
// R x CN accumulators, channel j of a lane being co = base + j * WG + lane (coalesced). The
// grid: positions x channel groups in x, blocks of rows in y, spilling into z.
//
// With SUBGROUPS defined (conv2d_winograd_gemm_subgroup.wgsl) lane l of a subgroup loads input
// channel c0 + l of each row and subgroupShuffle hands each to every lane in turn: one load
// brings a subgroup's worth of channels (what lavapipe runs fastest; see conv2d_gemm_subgroup.wgsl).

override WG: u32 = 8u;
override R: u32 = 16u;
override CN: u32 = 8u;
const R_MAX: u32 = 16u;
const CN_MAX: u32 = 8u;

//#include "conv2d_winograd_params.wgsl"
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;

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

  var acc: array<array<f32, CN_MAX>, R_MAX>;
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { acc[r][j] = 0.0; }
  }
//#if SUBGROUPS
  for (var c0 = 0u; c0 < cin; c0 += sgSize) {
    let n = min(sgSize, cin - c0);
    let myCi = min(c0 + sgLane, cin - 1u);
    var xs: array<f32, R_MAX>;
    for (var r = 0u; r < R; r++) { xs[r] = v[vRow[r] + myCi]; }
    for (var s = 0u; s < n; s++) {
      let uRow = (c0 + s) * cout;
      var w: array<f32, CN_MAX>;
      for (var j = 0u; j < CN; j++) { w[j] = u[uCol[j] + uRow]; }
      for (var r = 0u; r < R; r++) {
        let a = subgroupShuffle(xs[r], s);
        for (var j = 0u; j < CN; j++) { acc[r][j] += a * w[j]; }
      }
    }
  }
//#else
  for (var ci = 0u; ci < cin; ci++) {
    let uRow = ci * cout;
    var w: array<f32, CN_MAX>;
    for (var j = 0u; j < CN; j++) { w[j] = u[uCol[j] + uRow]; }
    for (var r = 0u; r < R; r++) {
      let a = v[vRow[r] + ci];
      for (var j = 0u; j < CN; j++) { acc[r][j] += a * w[j]; }
    }
  }
//#endif

  // The stores as a loop with a run-time bound (unrolled, they slow lavapipe's compile: see
  // conv2d_gemm.wgsl), from an indexable copy so the main loop keeps its accumulators in registers.
  var res: array<f32, 128>;  // R_MAX * CN_MAX
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { res[r * CN + j] = acc[r][j]; }
  }
  let count = min(tiles - t0, params.rowsPerBlock) * CN;
  for (var i = 0u; i < count; i++) {
    let co = coBase + (i % CN) * WG;
    if (co < cout) { m[(b * tiles + t0 + i / CN) * cout + co] = res[i]; }
  }
}
