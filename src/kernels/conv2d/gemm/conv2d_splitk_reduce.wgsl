// The second half of a split-K convolution (conv2d_gemm.wgsl with SPLIT_K): adds the partial
// sums of every split in a fixed order (the same result every run; WGSL has no float atomics)
// and applies the convolution's epilogue: out = activate(sum * scale[co] + bias[co] + residual),
// read at run time as the GEMM kernels read it (one pipeline serves every epilogue).
// In half-precision programs the partial sums are stored as f16 too (elem_t) and added in f32.
//#include "activation.wgsl"

override WG: u32 = 64u;

struct Params {
  count: u32,   // M * Cout
  cout: u32,
  splits: u32,
  epilogue: u32, // epilogueBits: bit 0 bias, 1 scale, 2 residual, bits 8-15 the activation
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<elem_t>;
@group(0) @binding(2) var<storage, read> bias: array<elem_t>;
@group(0) @binding(3) var<storage, read> scale: array<elem_t>;
@group(0) @binding(4) var<storage, read> residual: array<elem_t>;
@group(0) @binding(5) var<storage, read_write> out: array<elem_t>;

//#include "conv2d_epilogue.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  var v = 0.0;
  for (var s = 0u; s < params.splits; s++) { v += f32(partial[s * params.count + i]); }
  out[i] = elem_t(applyEpilogue(v, i % params.cout, i));
}
