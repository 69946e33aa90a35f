// The uniforms both GEMM convolution kernels read (prepareConv2d writes them in this order),
// and the bindings every conv kernel shares.
struct Params {
  M: u32,        // N * OH * OW
  cout: u32,
  cin: u32,
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
  mBlocks: u32,      // pixel blocks: ceil(M / block pixels); the grid spills them into z beyond 65535
  rowsPerBlock: u32, // the block's pixels (R or BM), at run time so the epilogue loop stays a loop
  coGroups: u32,     // workgroups along the channels per split (grid x = splits * coGroups)
  ciChunk: u32,      // input channels per split (cin without split-K)
  epilogue: u32,     // the epilogue (epilogueBits): bit 0 bias, 1 scale, 2 residual, bits 8-15 the activation
}

//#include "conv2d_bindings.wgsl"
//#include "conv2d_epilogue.wgsl"
