// Frame preprocessing, pass 2 of 2 (src/kernels/frame/frame-preprocess.ts): the vertical half of
// the resize on pass 1's u8 rows (same fixed point, see frame_resize_rows.wgsl),
// then the network's normalisation by table: `table[byte * 3 + channel]` holds the normalised
// value the CPU pipeline computes for that byte, so the result is bit-identical to it (WGSL's
// f32 division is only accurate to 2.5 ulp, so computing x / 127.5 here could differ).
// One invocation per pixel of [out_h, out_w]; writes NHWC f32 [1, out_h, out_w, 3].
override WG: u32 = 64u;

struct Params {
  total: u32, // out_h * out_w
  out_w: u32,
  ksize: u32, // weights per output row
  fraction_bits: u32, // fraction bits of the weights (Pillow's 22; torch's int16 up to 15)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rows: array<u32>; // [in_h, out_w] packed RGB bytes
// Per output row: first input row, window length, then ksize fixed-point weights.
@group(0) @binding(2) var<storage, read> coeffs: array<i32>;
@group(0) @binding(3) var<storage, read> table: array<f32>; // [256, 3]
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn clip8(acc: i32) -> u32 {
  return u32(clamp(acc >> params.fraction_bits, 0, 255));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let ox = i % params.out_w;
  let oy = i / params.out_w;
  let base = oy * (2u + params.ksize);
  let start = u32(coeffs[base]);
  let count = u32(coeffs[base + 1u]);
  var acc = vec3i(1 << (params.fraction_bits - 1u));
  for (var k = 0u; k < count; k++) {
    let p = rows[(start + k) * params.out_w + ox];
    let bytes = vec3i(i32(p & 255u), i32((p >> 8u) & 255u), i32((p >> 16u) & 255u));
    acc += bytes * coeffs[base + 2u + k];
  }
  out[i * 3u] = table[clip8(acc.r) * 3u];
  out[i * 3u + 1u] = table[clip8(acc.g) * 3u + 1u];
  out[i * 3u + 2u] = table[clip8(acc.b) * 3u + 2u];
}
