// Direct convolution for grouped and depthwise layers (groups > 1), where the per-group
// reduction (KH * KW * Cin/groups) is too short for the GEMM tiling to pay off. Two entry
// points share the epilogue and the binding slots:
//   main        any grouping, one channel per lane (scalar f32);
//   depthwise4  depthwise (groups == Cin == Cout) with C % 4 == 0: four channels per lane
//               (vec4) and a TR x TP tile of output pixels per invocation.
//
// Weight is HWIO [KH, KW, Cin/groups, Cout]; output channel co belongs to group
// co / (Cout/groups) and reads input channels [g * Cin/groups, (g+1) * Cin/groups).
//
// Epilogue per element: out = activate(acc * scale[co] + bias[co] + residual[idx]).
//#include "activation.wgsl"

override HAS_BIAS: u32 = 0u;
override HAS_SCALE: u32 = 0u;
override HAS_RESIDUAL: u32 = 0u;
override WG: u32 = 64u;
// Compile-time kernel size (0: read KH, KW from params): constant loop bounds let the tap
// loops unroll, ~35% faster on lavapipe for 3x3.
override KSIZE: u32 = 0u;

// ---------------------------------------------------------------------------------------------
// main: the general grouped kernel.
//
// Layout: lanes run along output channels (NHWC keeps them contiguous, so neighbouring lanes
// read neighbouring input and weight values), and a workgroup owns P horizontally adjacent
// output pixels of one output row, shared by all its lanes. The pixel / tap index arithmetic
// is therefore uniform across the workgroup (no per-lane divisions), each weight value is
// loaded once for all P pixels, and with stride 1 and no horizontal dilation (SLIDE = 1) the
// P + KW - 1 input values of a kernel row are loaded once and slid across the KW taps instead
// of P * KW loads.

// 1 when strideW == 1 and dilationW == 1 (the sliding-window path).
override SLIDE: u32 = 0u;
// 1 for one input channel per group: a constant reduction loop.
override DEPTHWISE: u32 = 0u;

const P: u32 = 8u;  // output pixels per workgroup

struct Params {
  cout: u32,
  cin: u32,
  cinPerGroup: u32,
  coutPerGroup: u32,
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
  owBlocks: u32,     // ceil(OW / P): pixel blocks per output row
  blocks: u32,       // N * OH * owBlocks; blocks spill from y into z beyond 65535
  pixelsPerBlock: u32,  // P, passed at run time so the epilogue loop stays a loop
}

//#include "conv2d_bindings.wgsl"

// input[n, ih, iw, channel] with rowBase = (n * H + ih) * W, or 0 outside the image. The load
// is unconditional (clamped index, masked afterwards) so it stays uniform and branch-free.
fn load(rowBase: u32, iw: i32, W: i32, channel: u32) -> f32 {
  let inside = iw >= 0 && iw < W;
  let v = f32(input[(rowBase + u32(clamp(iw, 0, W - 1))) * params.cin + channel]);
  return select(0.0, v, inside);
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let block = wid.y + wid.z * nwg.y;
  if (block >= params.blocks) { return; }
  let row = block / params.owBlocks;  // n * OH + oh
  let ow0 = (block % params.owBlocks) * P;
  let n = row / params.OH;
  let oh = row % params.OH;
  let coLane = wid.x * WG + lane;
  // Edge lanes compute on a valid channel; their results are never written.
  let co = min(coLane, params.cout - 1u);
  let ciBase = (co / params.coutPerGroup) * params.cinPerGroup;

  var acc: array<f32, P>;
  for (var p = 0u; p < P; p++) { acc[p] = 0.0; }

  let H = i32(params.H);
  let W = i32(params.W);
  let ih0 = i32(oh * params.strideH) - params.padTop;
  let iw0 = i32(ow0 * params.strideW) - params.padLeft;
  let KH = select(params.KH, KSIZE, KSIZE != 0u);
  let KW = select(params.KW, KSIZE, KSIZE != 0u);
  let cinPerGroup = select(params.cinPerGroup, 1u, DEPTHWISE != 0u);
  for (var kh = 0u; kh < KH; kh++) {
    let ih = ih0 + i32(kh * params.dilH);
    // Rows in the zero padding contribute nothing (uniform branch).
    if (ih < 0 || ih >= H) { continue; }
    let rowBase = (n * params.H + u32(ih)) * params.W;
    for (var ci = 0u; ci < cinPerGroup; ci++) {
      let channel = ciBase + ci;
      let wBase = (kh * KW * cinPerGroup + ci) * params.cout + co;
      let wStep = cinPerGroup * params.cout;  // next kw, same ci
      if (SLIDE != 0u) {
        var win: array<f32, P>;
        for (var p = 0u; p < P; p++) { win[p] = load(rowBase, iw0 + i32(p), W, channel); }
        for (var kw = 0u; kw < KW; kw++) {
          let w = f32(weight[wBase + kw * wStep]);
          for (var p = 0u; p < P; p++) { acc[p] += win[p] * w; }
          for (var p = 0u; p + 1u < P; p++) { win[p] = win[p + 1u]; }
          win[P - 1u] = load(rowBase, iw0 + i32(kw + P), W, channel);
        }
      } else {
        for (var kw = 0u; kw < KW; kw++) {
          let w = f32(weight[wBase + kw * wStep]);
          let iwTap = iw0 + i32(kw * params.dilW);
          for (var p = 0u; p < P; p++) {
            acc[p] += load(rowBase, iwTap + i32(p * params.strideW), W, channel) * w;
          }
        }
      }
    }
  }

  if (coLane >= params.cout) { return; }
  var s = 1.0;
  if (HAS_SCALE != 0u) { s = f32(scale[co]); }
  var b = 0.0;
  if (HAS_BIAS != 0u) { b = f32(bias[co]); }
  // Runtime-bounded loop (not unrolled) keeps the pipeline quick to compile; it indexes a copy
  // so that the accumulators above stay in registers.
  var res: array<f32, P>;
  for (var p = 0u; p < P; p++) { res[p] = acc[p]; }
  let count = min(params.OW - ow0, params.pixelsPerBlock);
  for (var p = 0u; p < count; p++) {
    let idx = (row * params.OW + ow0 + p) * params.cout + co;
    var v = res[p] * s + b;
    if (HAS_RESIDUAL != 0u) { v = v + f32(residual[idx]); }
    out[idx] = elem_t(activate(v));
  }
}

// ---------------------------------------------------------------------------------------------
// depthwise4: depthwise with C % 4 == 0.
//
// Why this shape: on lavapipe every storage access is a per-lane sequence of scalar loads or
// stores with bounds checks (~25 instructions per lane for a vec4, plus cache misses), while
// the tap arithmetic is nearly free. So each load must feed as many multiply-adds as possible:
//  - A lane owns 4 adjacent channels (one vec4: NHWC keeps them contiguous), paying the
//    per-lane overhead once for 4 channels.
//  - An invocation owns a TR x TP tile of output pixels. Each input row the tile touches is
//    loaded once as a window and slid across the KW taps, then feeds every output row of the
//    tile that uses it; KSIZE x KSIZE weights are loaded once per tile.
//  - Dilation and stride 2 keep the sliding window through a "comb": the tile takes output
//    pixels phaseStep = dil / gcd(stride, dil) apart, so tap kw of pixel p reads window
//    position p * SS + kw, with SS = stride / gcd(stride, dil) (1 or 2), on a grid of
//    input pixels dil apart. Tiles are grouped by phase (o mod phaseStep).
//  - A workgroup walks tilesPerGroup consecutive tiles (along a row of tiles, so the input
//    columns they share are still in cache) and loads its weights, bias and scale once.
//  - The grid runs tile groups along x and channel blocks along y: consecutive workgroups
//    continue along the row, so the input rows they share are still in cache.
// 4x4 tiles measured best; 8x4 and 8x8 spill, and a hand-unrolled 3x3 body was slower
// (larger code), so the loops are left to the compiler.
// All pixel and tap positions are uniform across the workgroup; only the channel is per lane.

// Window step in units of the dilation: stride / gcd(stride, dilation), 1 or 2.
override SSW: u32 = 1u;
override SSH: u32 = 1u;

const TP: u32 = 4u;  // tile columns
const TR: u32 = 4u;  // tile rows
const WMAX: u32 = 2u * (TP - 1u) + 1u;  // window length for SSW <= 2
const KMAX: u32 = 25u;  // weights kept in registers, for KSIZE <= 5

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
}

@group(0) @binding(0) var<uniform> dw: DwParams;
@group(0) @binding(1) var<storage, read> input4: array<elem4_t>;
@group(0) @binding(2) var<storage, read> weight4: array<elem4_t>;
@group(0) @binding(3) var<storage, read> bias4: array<elem4_t>;
@group(0) @binding(4) var<storage, read> scale4: array<elem4_t>;
@group(0) @binding(5) var<storage, read> residual4: array<elem4_t>;
@group(0) @binding(6) var<storage, read_write> out4: array<elem4_t>;

// input4[pixel rowBase + iw, quad q], or 0 outside the row (clamped load, masked after).
fn load4(rowBase: u32, iw: i32, q: u32) -> vec4f {
  let W = i32(dw.W);
  let v = vec4f(input4[(rowBase + u32(clamp(iw, 0, W - 1))) * dw.C4 + q]);
  return select(vec4f(0.0), v, iw >= 0 && iw < W);
}

@compute @workgroup_size(WG)
fn depthwise4(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let firstTile = (wid.x + wid.z * nwg.x) * dw.tilesPerGroup;
  if (firstTile >= dw.tiles) { return; }
  let lastTile = min(firstTile + dw.tilesPerGroup, dw.tiles);
  let C4 = dw.C4;
  let qLane = wid.y * WG + lane;
  // Edge lanes compute on a valid quad; their results are never written.
  let q = min(qLane, C4 - 1u);
  let KH = select(dw.KH, KSIZE, KSIZE != 0u);
  let KW = select(dw.KW, KSIZE, KSIZE != 0u);
  let dilW = i32(dw.dilW);

  // Per-channel operands, loaded once for all the workgroup's tiles.
  var wreg: array<vec4f, KMAX>;
  if (KSIZE != 0u) {
    for (var t = 0u; t < KSIZE * KSIZE; t++) { wreg[t] = vec4f(weight4[t * C4 + q]); }
  }
  var s = vec4f(1.0);
  if (HAS_SCALE != 0u) { s = vec4f(scale4[q]); }
  var b = vec4f(0.0);
  if (HAS_BIAS != 0u) { b = vec4f(bias4[q]); }

  for (var tile = firstTile; tile < lastTile; tile++) {
    // tile -> (n, row tile, column tile) -> (phase, first index within the phase).
    let colTile = tile % dw.colTiles;
    let rest = tile / dw.colTiles;
    let rowTile = rest % dw.rowTiles;
    let n = rest / dw.rowTiles;
    let ow0 = colTile / dw.colTilesPerPhase + (colTile % dw.colTilesPerPhase) * TP * dw.phaseStepW;
    let oh0 = rowTile / dw.rowTilesPerPhase + (rowTile % dw.rowTilesPerPhase) * TR * dw.phaseStepH;
    // Output (oh0 + r * phaseStepH, ow0 + p * phaseStepW), tap (kh, kw) reads input
    // (ihBase + (r * SSH + kh) * dilH, iwBase + (p * SSW + kw) * dilW).
    let ihBase = i32(oh0 * dw.strideH) - dw.padTop;
    let iwBase = i32(ow0 * dw.strideW) - dw.padLeft;

    var acc: array<vec4f, TR * TP>;
    for (var i = 0u; i < TR * TP; i++) { acc[i] = vec4f(0.0); }

    let wlen = (TP - 1u) * SSW + 1u;
    let rowsIn = (TR - 1u) * SSH + KH;
    for (var j = 0u; j < rowsIn; j++) {
      let ih = ihBase + i32(j * dw.dilH);
      // Rows in the zero padding contribute nothing (uniform branch).
      if (ih < 0 || ih >= i32(dw.H)) { continue; }
      let rowBase = (n * dw.H + u32(ih)) * dw.W;
      var win: array<vec4f, WMAX>;
      for (var i = 0u; i < wlen; i++) { win[i] = load4(rowBase, iwBase + i32(i) * dilW, q); }
      for (var kw = 0u; kw < KW; kw++) {
        // Input row j serves output row r through kernel row kh = j - r * SSH.
        for (var r = 0u; r < TR; r++) {
          let kh = i32(j) - i32(r * SSH);
          if (kh < 0 || kh >= i32(KH)) { continue; }
          var w: vec4f;
          if (KSIZE != 0u) {
            w = wreg[u32(kh) * KSIZE + kw];
          } else {
            w = vec4f(weight4[(u32(kh) * KW + kw) * C4 + q]);
          }
          for (var p = 0u; p < TP; p++) { acc[r * TP + p] += win[p * SSW] * w; }
        }
        if (kw + 1u < KW) {
          for (var i = 0u; i + 1u < wlen; i++) { win[i] = win[i + 1u]; }
          win[wlen - 1u] = load4(rowBase, iwBase + i32(wlen + kw) * dilW, q);
        }
      }
    }

    if (qLane < C4) {
      for (var r = 0u; r < TR; r++) {
        let oh = oh0 + r * dw.phaseStepH;
        for (var p = 0u; p < TP; p++) {
          let ow = ow0 + p * dw.phaseStepW;
          // Tiles at the bottom / right edge (and the last tiles of a phase) are partial.
          if (oh >= dw.OH || ow >= dw.OW) { continue; }
          let idx = ((n * dw.OH + oh) * dw.OW + ow) * C4 + q;
          var v = acc[r * TP + p] * s + b;
          if (HAS_RESIDUAL != 0u) { v += vec4f(residual4[idx]); }
          out4[idx] = elem4_t(vec4f(activate(v.x), activate(v.y), activate(v.z), activate(v.w)));
        }
      }
    }
  }
}
