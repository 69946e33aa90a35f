// The uniforms every Winograd kernel reads (winograd.ts writes them in this order). The
// transforms' tile size is their module consts TILE (outputs a tile has along each axis, 2 or
// 4) and ALPHA = TILE + 2 (inputs along each axis; ALPHA * ALPHA transformed values a tile).
//
// Tiles on the dilated grid: along an axis of rate d, the outputs fall into d phases
// (o mod d), and a phase is a dense 3x3 convolution over the inputs d apart. A tile is TILE
// outputs of one phase: tile t of an axis has phase t / perPhase and its outputs are
// o = phase + d * (i0 + a), a < TILE, with i0 = (t % perPhase) * TILE; they read the inputs
// phase + d * (i0 + j) - pad, j < ALPHA. At rate 1 this is the plain grid of TILE x TILE tiles.
struct Params {
  N: u32,
  H: u32,
  W: u32,
  cin: u32,
  cout: u32,
  OH: u32,
  OW: u32,
  dilH: u32,
  dilW: u32,
  padTop: i32,
  padLeft: i32,
  perPhaseH: u32,   // tiles a phase has along each axis: ceil(ceil(O / d) / TILE)
  tilesH: u32,      // tiles along each axis: min(d, O) * perPhase
  perPhaseW: u32,
  tilesW: u32,
  tiles: u32,       // N * tilesH * tilesW: the GEMM's rows
  tileBlocks: u32,  // the GEMM's blocks of rows: ceil(tiles / rowsPerBlock); the grid spills them into z
  rowsPerBlock: u32,
  coGroups: u32,    // the GEMM's workgroups along the output channels per transformed position
  epilogue: u32,    // the output transform's epilogue (epilogueBits)
}

@group(0) @binding(0) var<uniform> params: Params;

// A tile's image and first output along each axis (phase + d * i0; its first input is that
// minus the padding), for tiles of `size` outputs a side.
struct TileOrigin {
  n: u32,
  oh: u32,
  ow: u32,
}

fn tileOrigin(tile: u32, size: u32) -> TileOrigin {
  let tw = tile % params.tilesW;
  let rest = tile / params.tilesW;
  let th = rest % params.tilesH;
  let oh = th / params.perPhaseH + (th % params.perPhaseH) * size * params.dilH;
  let ow = tw / params.perPhaseW + (tw % params.perPhaseW) * size * params.dilW;
  return TileOrigin(rest / params.tilesH, oh, ow);
}
