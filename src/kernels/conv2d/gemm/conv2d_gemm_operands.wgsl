// The implicit GEMM's block and operands for the kernels that stage tiles in workgroup memory
// (conv2d_gemm_tiled.wgsl, conv2d_gemm_matrix.wgsl): A[m, k] gathered from the NHWC input (taps
// in the padding read 0), B[k, co] from the HWIO weight; 0 past either end. Included after the
// kernel's Params and bindings.

// A workgroup's block of the output: its first pixel and output channel, its split of the input
// channels (split-K) and that split's reduction length; `past` for pixel blocks past the last.
struct Block {
  past: bool,
  m0: u32,
  n0: u32,
  split: u32,
  ciBegin: u32,
  chunk: u32,
  kLen: u32,
}

// Workgroup `wid`'s block, for blocks of `pixels` x `channels` (pixel blocks along y, spilling
// into z; channel blocks of each split along x).
fn blockOf(wid: vec3u, nwg: vec3u, pixels: u32, channels: u32) -> Block {
  let mBlock = wid.y + wid.z * nwg.y;
  let split = wid.x / params.coGroups;
  let ciBegin = split * params.ciChunk;
  let chunk = min(params.cin, ciBegin + params.ciChunk) - ciBegin;
  return Block(mBlock >= params.mBlocks, mBlock * pixels, (wid.x % params.coGroups) * channels, split, ciBegin, chunk, params.KH * params.KW * chunk);
}

// Where A[m, k] lives in the input: the index of its element (channel ci of the tap's pixel),
// or -1 for a tap in the padding or past either end. The tap-major reduction index k of a
// split maps to (tap, ci) as k = tap * chunk + (ci - ciBegin).
fn aIndex(m: u32, k: u32, b: Block) -> i32 {
  if (m >= params.M || k >= b.kLen) { return -1; }
  let tap = k / b.chunk;
  let ci = b.ciBegin + k % b.chunk;
  let kh = tap / params.KW;
  let kw = tap % params.KW;
  let ow = m % params.OW;
  let t = m / params.OW;
  let oh = t % params.OH;
  let n = t / params.OH;
  let ih = i32(oh * params.strideH + kh * params.dilH) - params.padTop;
  let iw = i32(ow * params.strideW + kw * params.dilW) - params.padLeft;
  if (ih < 0 || ih >= i32(params.H) || iw < 0 || iw >= i32(params.W)) { return -1; }
  return i32(((n * params.H + u32(ih)) * params.W + u32(iw)) * params.cin + ci);
}

// Where B[k, co] lives in the weight, or -1 past either end.
fn bIndex(k: u32, co: u32, b: Block) -> i32 {
  if (k >= b.kLen || co >= params.cout) { return -1; }
  let tap = k / b.chunk;
  let ci = b.ciBegin + k % b.chunk;
  return i32((tap * params.cin + ci) * params.cout + co);
}

fn aValue(m: u32, k: u32, b: Block) -> f32 {
  let i = aIndex(m, k, b);
  if (i < 0) { return 0.0; }
  return f32(input[i]);
}

fn bValue(k: u32, co: u32, b: Block) -> f32 {
  let i = bIndex(k, co, b);
  if (i < 0) { return 0.0; }
  return f32(weight[i]);
}
