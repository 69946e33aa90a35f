// Input gradient of conv2d: dX [N, H, W, Cin] from dY [N, OH, OW, Cout] and the HWIO weight,
// the transposed convolution written as a gather. Input element (n, ih, iw, ci) received
//   dX[n, ih, iw, ci] = sum over taps (kh, kw) and the output channels co of ci's group of
//                       dY[n, oh, ow, co] * weight[kh, kw, ci - groupStart, co]
// for every tap whose output position oh = (ih + padTop - kh*dilH) / strideH (and likewise ow)
// is an integer inside [0, OH). With stride s only one tap in s along each axis (per dilation
// class) can hit an integer oh, so taps are filtered by that phase test before any channel work.
//
// `main` (groups == 1): an implicit GEMM like conv2d_gemm.wgsl. A workgroup owns R = 8 input
// pixels that all lie in the same stride phase (ih % strideH, iw % strideW), so the phase test
// (which depends only on the phase) and the tap loop are uniform across the workgroup, and the
// dY loads are workgroup-uniform (broadcast). Each invocation keeps R x CN = 8 x 4 accumulators:
// 4 input channels ci = base + j * WG + lane.
// The pixels are enumerated per phase: phase (ph, pw) holds ih = ph + a * strideH,
// iw = pw + b * strideW with a < phaseRows = ceil(H / strideH), b < phaseCols; each phase is cut
// into blocksPerPhase blocks of R, and pixels past H or W (short phases) are masked.
//
// With SUBGROUPS defined (conv2d_input_grad_subgroup.wgsl, software adapters with fixed-size
// subgroups) `main` shares its dY loads through the subgroup instead of loading each one
// workgroup-uniformly (see conv2d_gemm_subgroup.wgsl for why that pays on lavapipe).
//
// `grouped` (groups > 1, depthwise and channel multipliers included): one invocation per input
// element, looping over its group's Cout / groups channels.
override WG: u32 = 32u;

const R: u32 = 8u;   // input pixels per workgroup (main)
const CN: u32 = 4u;  // input channels per invocation (main)

struct Params {
  cin: u32,
  cout: u32,
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
  phaseRows: u32,       // ceil(H / strideH)
  phaseCols: u32,       // ceil(W / strideW)
  blocksPerPhase: u32,  // ceil(phaseRows * phaseCols / R)
  tiles: u32,           // N * strideH * strideW * blocksPerPhase (main's workgroups; the grid may be padded)
  total: u32,           // N * H * W * Cin (grouped's invocations)
  tileRows: u32,        // R, passed at run time so the store loop stays a loop
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> dInput: array<f32>;

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
  let tile = wid.y + wid.z * nwg.y;
  if (tile >= params.tiles) { return; }
  let block = tile % params.blocksPerPhase;
  var q = tile / params.blocksPerPhase;
  let pw = q % params.strideW;
  q = q / params.strideW;
  let ph = q % params.strideH;
  let n = q / params.strideH;
  let ciBase = wid.x * WG * CN + lane;

  // Weight rows of this lane, clamped so edge lanes read valid memory (results dropped).
  var ciCol: array<u32, CN>;
  for (var j = 0u; j < CN; j++) { ciCol[j] = min(ciBase + j * WG, params.cin - 1u); }

  // Phase-local coordinates (a, b) of the R pixels; `valid` masks block and phase overhang.
  var pa: array<i32, R>;
  var pb: array<i32, R>;
  var valid: array<bool, R>;
  let phasePixels = params.phaseRows * params.phaseCols;
  for (var r = 0u; r < R; r++) {
    let k = block * R + r;
    let a = k / params.phaseCols;
    let b = k % params.phaseCols;
    valid[r] = k < phasePixels && ph + a * params.strideH < params.H && pw + b * params.strideW < params.W;
    pa[r] = i32(a);
    pb[r] = i32(b);
  }

  var acc: array<array<f32, CN>, R>;
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { acc[r][j] = 0.0; }
  }

  let sH = i32(params.strideH);
  let sW = i32(params.strideW);
  let OH = i32(params.OH);
  let OW = i32(params.OW);
  for (var kh = 0u; kh < params.KH; kh++) {
    // oh * strideH = ih + padTop - kh * dilH = (ph + padTop - kh * dilH) + a * strideH.
    let th = i32(ph) + params.padTop - i32(kh * params.dilH);
    if (th % sH != 0) { continue; }  // this tap reaches no output from this phase
    let offH = th / sH;              // exact: oh = a + offH
    for (var kw = 0u; kw < params.KW; kw++) {
      let tw = i32(pw) + params.padLeft - i32(kw * params.dilW);
      if (tw % sW != 0) { continue; }
      let offW = tw / sW;
      var pix: array<u32, R>;
      var inside: array<bool, R>;
      var anyInside = false;
      for (var r = 0u; r < R; r++) {
        let oh = pa[r] + offH;
        let ow = pb[r] + offW;
        inside[r] = valid[r] && oh >= 0 && oh < OH && ow >= 0 && ow < OW;
        anyInside = anyInside || inside[r];
        pix[r] = select(0u, ((n * params.OH + u32(oh)) * params.OW + u32(ow)) * params.cout, inside[r]);
      }
      if (!anyInside) { continue; }
      let kRow = (kh * params.KW + kw) * params.cin;
      var wRow: array<u32, CN>;
      for (var j = 0u; j < CN; j++) { wRow[j] = (kRow + ciCol[j]) * params.cout; }
//#if SUBGROUPS
      // dY shared through the subgroup (as in conv2d_gemm_subgroup.wgsl): lane i loads output
      // channel c0 + i of each pixel, and the shuffle hands each channel to every lane in turn.
      for (var c0 = 0u; c0 < params.cout; c0 += sgSize) {
        let n = min(sgSize, params.cout - c0);
        let myCo = min(c0 + sgLane, params.cout - 1u);
        var ds: array<f32, R>;
        for (var r = 0u; r < R; r++) { ds[r] = select(0.0, dOut[pix[r] + myCo], inside[r]); }
        for (var s = 0u; s < n; s++) {
          var w: array<f32, CN>;
          for (var j = 0u; j < CN; j++) { w[j] = weight[wRow[j] + c0 + s]; }
          for (var r = 0u; r < R; r++) {
            let d = subgroupShuffle(ds[r], s);
            for (var j = 0u; j < CN; j++) { acc[r][j] += d * w[j]; }
          }
        }
      }
//#else
      for (var co = 0u; co < params.cout; co++) {
        var w: array<f32, CN>;
        for (var j = 0u; j < CN; j++) { w[j] = weight[wRow[j] + co]; }
        for (var r = 0u; r < R; r++) {
          let d = select(0.0, dOut[pix[r] + co], inside[r]);
          for (var j = 0u; j < CN; j++) { acc[r][j] += d * w[j]; }
        }
      }
//#endif
    }
  }

  // Stores as a loop with a runtime bound (an unrolled 8 x 4 store block compiles slowly on
  // lavapipe, see conv2d_gemm.wgsl); every valid pixel is written, 0 where no tap reached it.
  var res: array<f32, 32>;  // R * CN
  for (var r = 0u; r < R; r++) {
    for (var j = 0u; j < CN; j++) { res[r * CN + j] = acc[r][j]; }
  }
  let image = n * params.H;
  for (var i = 0u; i < params.tileRows * CN; i++) {
    let r = i / CN;
    let ci = ciBase + (i % CN) * WG;
    if (valid[r] && ci < params.cin) {
      let ih = ph + u32(pa[r]) * params.strideH;
      let iw = pw + u32(pb[r]) * params.strideW;
      dInput[((image + ih) * params.W + iw) * params.cin + ci] = res[i];
    }
  }
}

@compute @workgroup_size(WG)
fn grouped(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let ci = i % params.cin;
  var q = i / params.cin;
  let iw = q % params.W;
  q = q / params.W;
  let ih = q % params.H;
  let n = q / params.H;
  let g = ci / params.cinPerGroup;
  let ciLocal = ci % params.cinPerGroup;
  let coBase = g * params.coutPerGroup;

  var acc = 0.0;
  for (var kh = 0u; kh < params.KH; kh++) {
    let th = i32(ih) + params.padTop - i32(kh * params.dilH);
    if (th < 0) { break; }  // th only decreases with kh
    if (u32(th) % params.strideH != 0u) { continue; }
    let oh = u32(th) / params.strideH;
    if (oh >= params.OH) { continue; }
    for (var kw = 0u; kw < params.KW; kw++) {
      let tw = i32(iw) + params.padLeft - i32(kw * params.dilW);
      if (tw < 0) { break; }
      if (u32(tw) % params.strideW != 0u) { continue; }
      let ow = u32(tw) / params.strideW;
      if (ow >= params.OW) { continue; }
      let y0 = ((n * params.OH + oh) * params.OW + ow) * params.cout + coBase;
      let w0 = ((kh * params.KW + kw) * params.cinPerGroup + ciLocal) * params.cout + coBase;
      for (var j = 0u; j < params.coutPerGroup; j++) {
        acc += dOut[y0 + j] * weight[w0 + j];
      }
    }
  }
  dInput[i] = acc;
}
