// The depthwise vec4 tiles (conv2d_depthwise.wgsl) written out as straight-line code, for drivers
// that run a shader as written (SwiftShader keeps loops as loops and private arrays in memory):
// a lane owns 4 channels and a TR x TP tile of outputs, each accumulator, input value and weight
// a variable of its own. The tile's input window (NR x NC values, rows and columns dilation apart)
// is loaded once, then every output takes its KH x KW taps from it; the weights are loaded once a
// workgroup. The comb (outputs phaseStep apart, window steps SSH / SSW), the tiles a workgroup
// walks, the grid and the epilogue are conv2d_depthwise.wgsl's.
//
// Module consts (the variant's, depthwise.ts): TR, TP the tile; KH, KW the kernel; SSH, SSW the
// window steps; NR = (TR - 1) * SSH + KH and NC = (TP - 1) * SSW + KW the window.
//#include "activation.wgsl"

override HAS_BIAS: u32 = 0u;
override HAS_SCALE: u32 = 0u;
override HAS_RESIDUAL: u32 = 0u;
override WG: u32 = 8u;

struct DwParams {
  C4: u32,
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
  phaseStepH: u32,
  phaseStepW: u32,
  rowTilesPerPhase: u32,
  rowTiles: u32,
  colTilesPerPhase: u32,
  colTiles: u32,
  tiles: u32,
  tilesPerGroup: u32,
}

@group(0) @binding(0) var<uniform> dw: DwParams;
@group(0) @binding(1) var<storage, read> input4: array<elem4_t>;
@group(0) @binding(2) var<storage, read> weight4: array<elem4_t>;
@group(0) @binding(3) var<storage, read> bias4: array<elem4_t>;
@group(0) @binding(4) var<storage, read> scale4: array<elem4_t>;
@group(0) @binding(5) var<storage, read> residual4: array<elem4_t>;
@group(0) @binding(6) var<storage, read_write> out4: array<elem4_t>;

// One output through the epilogue, unless it lies past the map (partial tiles).
fn store(n: u32, oh: u32, ow: u32, q: u32, acc: vec4f, s: vec4f, b: vec4f) {
  if (oh >= dw.OH || ow >= dw.OW) { return; }
  let idx = ((n * dw.OH + oh) * dw.OW + ow) * dw.C4 + q;
  var v = acc * s + b;
  if (HAS_RESIDUAL != 0u) { v += vec4f(residual4[idx]); }
  out4[idx] = elem4_t(vec4f(activate(v.x), activate(v.y), activate(v.z), activate(v.w)));
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
  let H = i32(dw.H);
  let W = i32(dw.W);

  // Per-channel operands, loaded once for all the workgroup's tiles.
//#repeat kh KH
//#repeat kw KW
  let w{kh}_{kw} = vec4f(weight4[{kh*KW+kw}u * C4 + q]);
//#end
//#end
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
    let ihBase = i32(oh0 * dw.strideH) - dw.padTop;
    let iwBase = i32(ow0 * dw.strideW) - dw.padLeft;

    // The window: input rows ihBase + j * dilH and columns iwBase + i * dilW, zero outside (an
    // index past the map reads some value of the tensor, or zero: WebGPU bounds every access, and
    // the value is masked; clamping it instead made lavapipe compile the kernel 3x slower).
//#repeat j NR
    let ih{j} = ihBase + i32({j}u * dw.dilH);
    let rowOk{j} = ih{j} >= 0 && ih{j} < H;
    let rowOff{j} = (n * dw.H + u32(max(ih{j}, 0))) * dw.W * C4 + q;
//#end
//#repeat i NC
    let iw{i} = iwBase + i32({i}u * dw.dilW);
    let colOk{i} = iw{i} >= 0 && iw{i} < W;
    let colOff{i} = u32(max(iw{i}, 0)) * C4;
//#end
//#repeat j NR
//#repeat i NC
    let x{j}_{i} = select(vec4f(0.0), vec4f(input4[rowOff{j} + colOff{i}]), rowOk{j} && colOk{i});
//#end
//#end

    // Output (r, p) is (oh0 + r * phaseStepH, ow0 + p * phaseStepW); its tap (kh, kw) is window
    // value (r * SSH + kh, p * SSW + kw).
    var res: array<vec4f, TR * TP>;
//#repeat r TR
//#repeat p TP
    {
      var a = vec4f(0.0);
//#repeat kh KH
//#repeat kw KW
      a += x{r*SSH+kh}_{p*SSW+kw} * w{kh}_{kw};
//#end
//#end
      res[{r*TP+p}] = a;
    }
//#end
//#end
    // The epilogue as a loop (written out per output, it made the compile slower than the
    // arithmetic did).
    if (qLane < C4) {
      for (var i = 0u; i < TR * TP; i++) { store(n, oh0 + (i / TP) * dw.phaseStepH, ow0 + (i % TP) * dw.phaseStepW, q, res[i], s, b); }
    }
  }
}
