// Frame preprocessing, pass 1 of 2 (src/kernels/frame/frame-preprocess.ts): the horizontal half of
// the input pipeline's resize (src/io/resize-cpu.ts: Pillow's or torch's), read straight from an
// RGBA texture. Integer fixed point as they compute it: per output column a window of input
// columns with weights scaled by 2^precision (made on the host), summed in i32 from the rounding
// bias, then >> precision and clamped to a byte. The result is the u8 image kept between the two
// passes, one packed RGB word per pixel; alpha is dropped (PIL's convert('RGB')).
// One invocation per pixel of [in_h, out_w].
override WG: u32 = 64u;

struct Params {
  total: u32, // in_h * out_w
  out_w: u32,
  ksize: u32, // weights per output column
  fraction_bits: u32, // fraction bits of the weights (Pillow's 22; torch's int16 up to 15)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var frame: texture_2d<f32>;
// Per output column: first input column, window length, then ksize fixed-point weights.
@group(0) @binding(2) var<storage, read> coeffs: array<i32>;
@group(0) @binding(3) var<storage, read_write> rows: array<u32>;

fn clip8(acc: i32) -> u32 {
  return u32(clamp(acc >> params.fraction_bits, 0, 255));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let ox = i % params.out_w;
  let y = i32(i / params.out_w);
  let base = ox * (2u + params.ksize);
  let start = coeffs[base];
  let count = u32(coeffs[base + 1u]);
  var acc = vec3i(1 << (params.fraction_bits - 1u));
  for (var k = 0u; k < count; k++) {
    // rgba8unorm / bgra8unorm load as byte / 255: rounding recovers the byte exactly.
    let texel = vec3i(round(textureLoad(frame, vec2i(start + i32(k), y), 0).rgb * 255.0));
    acc += texel * coeffs[base + 2u + k];
  }
  rows[i] = clip8(acc.r) | (clip8(acc.g) << 8u) | (clip8(acc.b) << 16u);
}
