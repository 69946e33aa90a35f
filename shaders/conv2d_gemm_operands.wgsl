// The implicit GEMM's operands, one element at a time, for the kernels that stage tiles in
// workgroup memory (conv2d_gemm_tiled.wgsl, conv2d_gemm_matrix.wgsl): A[m, k] gathered from the
// NHWC input (taps in the padding read 0), B[k, co] from the HWIO weight; 0 past either end.
// Included after the kernel's Params and bindings.

// The tap-major reduction index k of this split, mapped to (tap, ci): k = tap * chunk + c.
fn aValue(m: u32, k: u32, kLen: u32, chunk: u32, ciBegin: u32) -> f32 {
  if (m >= params.M || k >= kLen) { return 0.0; }
  let tap = k / chunk;
  let ci = ciBegin + k % chunk;
  let kh = tap / params.KW;
  let kw = tap % params.KW;
  let ow = m % params.OW;
  let t = m / params.OW;
  let oh = t % params.OH;
  let n = t / params.OH;
  let ih = i32(oh * params.strideH + kh * params.dilH) - params.padTop;
  let iw = i32(ow * params.strideW + kw * params.dilW) - params.padLeft;
  if (ih < 0 || ih >= i32(params.H) || iw < 0 || iw >= i32(params.W)) { return 0.0; }
  return f32(input[((n * params.H + u32(ih)) * params.W + u32(iw)) * params.cin + ci]);
}

fn bValue(k: u32, co: u32, kLen: u32, chunk: u32, ciBegin: u32) -> f32 {
  if (k >= kLen || co >= params.cout) { return 0.0; }
  let tap = k / chunk;
  let ci = ciBegin + k % chunk;
  return f32(weight[(tap * params.cin + ci) * params.cout + co]);
}
