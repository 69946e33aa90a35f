// What the depthwise tile kernels share (conv2d_depthwise.wgsl, looped; conv2d_depthwise_unrolled.wgsl,
// written out): the params (depthwise.ts writes them in this order), the bindings, where a tile's
// outputs lie, and one output through the epilogue. Both kernels define TR and TP (the tile) and
// include activation.wgsl first.
//
// The epilogue is given as epilogueBits (bit 0 bias, 1 scale, 2 residual, bits 8-15 the
// activation): the looped kernel reads it at run time (dw.epilogue: one pipeline serves every
// epilogue), the written-out one from its override constant EPILOGUE (read at run time, each of
// its pipelines compiled 1.5-2x slower on SwiftShader, as slow in all as a pipeline per epilogue).

struct DwParams {
  C4: u32,          // channels / 4
  H: u32,
  W: u32,
  OH: u32,
  OW: u32,
  KH: u32,
  KW: u32,
  strideH: u32,
  strideW: u32,
  dilH: u32,
  dilW: u32,
  padTop: i32,
  padLeft: i32,
  phaseStepH: u32,  // output rows between a tile's rows: dilH / gcd(strideH, dilH)
  phaseStepW: u32,
  rowTilesPerPhase: u32,
  rowTiles: u32,    // phases * rowTilesPerPhase
  colTilesPerPhase: u32,
  colTiles: u32,
  tiles: u32,       // N * rowTiles * colTiles
  tilesPerGroup: u32,  // consecutive tiles one workgroup walks; groups spill from x into z
  epilogue: u32,    // epilogueBits, read by the looped kernel
}

@group(0) @binding(0) var<uniform> dw: DwParams;
@group(0) @binding(1) var<storage, read> input4: array<elem4_t>;
@group(0) @binding(2) var<storage, read> weight4: array<elem4_t>;
@group(0) @binding(3) var<storage, read> bias4: array<elem4_t>;
@group(0) @binding(4) var<storage, read> scale4: array<elem4_t>;
@group(0) @binding(5) var<storage, read> residual4: array<elem4_t>;
@group(0) @binding(6) var<storage, read_write> out4: array<elem4_t>;

// A tile's image and first output: tile -> (n, row tile, column tile) -> (phase, first index
// within the phase). Its output (r, p) is (oh0 + r * phaseStepH, ow0 + p * phaseStepW).
struct DwTile {
  n: u32,
  oh0: u32,
  ow0: u32,
}

fn tileAt(tile: u32) -> DwTile {
  let colTile = tile % dw.colTiles;
  let rest = tile / dw.colTiles;
  let rowTile = rest % dw.rowTiles;
  let ow0 = colTile / dw.colTilesPerPhase + (colTile % dw.colTilesPerPhase) * TP * dw.phaseStepW;
  let oh0 = rowTile / dw.rowTilesPerPhase + (rowTile % dw.rowTilesPerPhase) * TR * dw.phaseStepH;
  return DwTile(rest / dw.rowTiles, oh0, ow0);
}

// One output through the epilogue, unless it lies past the map (partial tiles).
fn store(n: u32, oh: u32, ow: u32, q: u32, acc: vec4f, s: vec4f, b: vec4f, e: u32) {
  if (oh >= dw.OH || ow >= dw.OW) { return; }
  let idx = ((n * dw.OH + oh) * dw.OW + ow) * dw.C4 + q;
  var v = acc * s + b;
  if ((e & 4u) != 0u) { v += vec4f(residual4[idx]); }
  let a = e >> 8u;
  out4[idx] = elem4_t(vec4f(activateAs(v.x, a), activateAs(v.y, a), activateAs(v.z, a), activateAs(v.w, a)));
}

// The channel quad's scale and bias where the epilogue has them (1 and 0 where not).
fn scaleOf(q: u32, e: u32) -> vec4f {
  if ((e & 2u) != 0u) { return vec4f(scale4[q]); }
  return vec4f(1.0);
}
fn biasOf(q: u32, e: u32) -> vec4f {
  if ((e & 1u) != 0u) { return vec4f(bias4[q]); }
  return vec4f(0.0);
}
