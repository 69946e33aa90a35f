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

override WG: u32 = 8u;
// The epilogue (epilogueBits) as a constant: see conv2d_depthwise_tile.wgsl.
override EPILOGUE: u32 = 0u;

//#include "conv2d_depthwise_tile.wgsl"

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
  let s = scaleOf(q, EPILOGUE);
  let b = biasOf(q, EPILOGUE);

  for (var tile = firstTile; tile < lastTile; tile++) {
    let at = tileAt(tile);
    let n = at.n;
    let oh0 = at.oh0;
    let ow0 = at.ow0;
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
      for (var i = 0u; i < TR * TP; i++) { store(n, oh0 + (i / TP) * dw.phaseStepH, ow0 + (i % TP) * dw.phaseStepW, q, res[i], s, b, EPILOGUE); }
    }
  }
}
