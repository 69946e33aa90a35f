// Bias gradient of conv2d (conv2d_bias_grad.wgsl's sum) without workgroup memory or barriers, for
// drivers that run a shader as written (SwiftShader: a barrier there is costly, every storage
// load a per-lane gather). Invocation i sums 4 adjacent channels, a vec4 load a pixel (Cout a
// multiple of 4), over its own chunk of pixels: quad q = i % quads of chunk i / quads. Its sum
// goes to out[i]: dBias itself where there is one chunk, else the [chunks, Cout] scratch that
// chunk_sum.wgsl adds up. The serial sum is blocked (BLOCK-term partial sums into a running
// total), so long chunks keep float32 accuracy.
override WG: u32 = 64u;

const BLOCK: u32 = 64u;

struct Params {
  pixels: u32,    // M = N * OH * OW
  quads: u32,     // Cout / 4
  chunkLen: u32,  // pixels a chunk (the last may be shorter)
  count: u32,     // quads * chunks: the invocations
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let q = i % params.quads;
  let p0 = (i / params.quads) * params.chunkLen;
  let p1 = min(p0 + params.chunkLen, params.pixels);
  var total = vec4<f32>(0.0);
  for (var b = p0; b < p1; b += BLOCK) {
    var part = vec4<f32>(0.0);
    let e = min(b + BLOCK, p1);
    for (var p = b; p < e; p++) { part += dOut[p * params.quads + q]; }
    total += part;
  }
  out[i] = total;
}
