// Depthwise convolution (groups == Cin == Cout) with C % 4 == 0: four channels per lane (vec4)
// and a TR x TP tile of output pixels per invocation. Weight is HWIO [KH, KW, 1, C].
//
// Epilogue per element: out = activate(acc * scale[c] + bias[c] + residual[idx]).
// The window and weights are widened once as loaded to acc4_t, the type the products are summed
// in: f32, or f16 in the f16-accumulating variant of half-precision programs, which computes in
// f16 throughout. The epilogue runs in f32.
//#include "activation.wgsl"

override WG: u32 = 64u;
// Compile-time kernel size (0: read KH, KW from params): constant loop bounds let the tap
// loops unroll.
override KSIZE: u32 = 0u;

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

//#include "conv2d_depthwise_tile.wgsl"

// input4[pixel rowBase + iw, quad q], or 0 outside the row (clamped load, masked after).
fn load4(rowBase: u32, iw: i32, q: u32) -> acc4_t {
  let W = i32(dw.W);
  let v = acc4_t(input4[(rowBase + u32(clamp(iw, 0, W - 1))) * dw.C4 + q]);
  return select(acc4_t(0.0), v, iw >= 0 && iw < W);
}

@compute @workgroup_size(WG)
fn main(
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
  var wreg: array<acc4_t, KMAX>;
  if (KSIZE != 0u) {
    for (var t = 0u; t < KSIZE * KSIZE; t++) { wreg[t] = acc4_t(weight4[t * C4 + q]); }
  }
  let e = dw.epilogue;
  let s = scaleOf(q, e);
  let b = biasOf(q, e);

  for (var tile = firstTile; tile < lastTile; tile++) {
    let at = tileAt(tile);
    let n = at.n;
    let oh0 = at.oh0;
    let ow0 = at.ow0;
    // Output (oh0 + r * phaseStepH, ow0 + p * phaseStepW), tap (kh, kw) reads input
    // (ihBase + (r * SSH + kh) * dilH, iwBase + (p * SSW + kw) * dilW).
    let ihBase = i32(oh0 * dw.strideH) - dw.padTop;
    let iwBase = i32(ow0 * dw.strideW) - dw.padLeft;

    var acc: array<acc4_t, TR * TP>;
    for (var i = 0u; i < TR * TP; i++) { acc[i] = acc4_t(0.0); }

    let wlen = (TP - 1u) * SSW + 1u;
    let rowsIn = (TR - 1u) * SSH + KH;
    for (var j = 0u; j < rowsIn; j++) {
      let ih = ihBase + i32(j * dw.dilH);
      // Rows in the zero padding contribute nothing (uniform branch).
      if (ih < 0 || ih >= i32(dw.H)) { continue; }
      let rowBase = (n * dw.H + u32(ih)) * dw.W;
      var win: array<acc4_t, WMAX>;
      for (var i = 0u; i < wlen; i++) { win[i] = load4(rowBase, iwBase + i32(i) * dilW, q); }
      for (var kw = 0u; kw < KW; kw++) {
        // Input row j serves output row r through kernel row kh = j - r * SSH.
        for (var r = 0u; r < TR; r++) {
          let kh = i32(j) - i32(r * SSH);
          if (kh < 0 || kh >= i32(KH)) { continue; }
          var w: acc4_t;
          if (KSIZE != 0u) {
            w = wreg[u32(kh) * KSIZE + kw];
          } else {
            w = acc4_t(weight4[(u32(kh) * KW + kw) * C4 + q]);
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
      // Tiles at the bottom / right edge (and the last tiles of a phase) are partial: store
      // skips outputs past the map.
      for (var r = 0u; r < TR; r++) {
        for (var p = 0u; p < TP; p++) { store(n, oh0 + r * dw.phaseStepH, ow0 + p * dw.phaseStepW, q, vec4f(acc[r * TP + p]), s, b, e); }
      }
    }
  }
}
