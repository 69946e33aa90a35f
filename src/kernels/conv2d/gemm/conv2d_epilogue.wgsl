// The convolution's epilogue of one output, read at run time from the includer's
// `params.epilogue` (epilogueBits: bit 0 bias, 1 scale, 2 residual, bits 8-15 the activation), so
// one pipeline serves every epilogue: each distinct shader is a compile, seconds each on software
// adapters. Included after the includer's Params, its scale/bias/residual bindings and
// activation.wgsl (the GEMM kernels through conv2d_gemm_params.wgsl, and the split-K sum).

// activation(acc * scale[co] + bias[co] + residual[idx]) at pixel-major index idx, channel co.
fn applyEpilogue(acc: f32, co: u32, idx: u32) -> f32 {
  let e = params.epilogue;
  var v = acc;
  if ((e & 2u) != 0u) { v = v * f32(scale[co]); }
  if ((e & 1u) != 0u) { v = v + f32(bias[co]); }
  if ((e & 4u) != 0u) { v = v + f32(residual[idx]); }
  return activateAs(v, e >> 8u);
}
