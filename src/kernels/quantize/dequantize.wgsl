// Weights stored compactly in a checkpoint (`deeplab export --quantize`), widened to f32 on the
// GPU as they are loaded, so only the compact bytes cross from the host.
//   dequantize_int8: packed holds signed bytes (four to a word, little-endian); each value is
//                    multiplied by its output channel's scale (the last axis of our HWIO layout:
//                    channel = index % channels).
//   widen_half:      packed holds f16 values, two to a word, low half first.
override WG: u32 = 256u;

struct Params {
  total: u32,
  channels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> packed: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;

@compute @workgroup_size(WG)
fn dequantize_int8(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  // extractBits on an i32 sign-extends the byte.
  let q = extractBits(bitcast<i32>(packed[i / 4u]), (i % 4u) * 8u, 8u);
  out[i] = f32(q) * scales[i % params.channels];
}

@compute @workgroup_size(WG)
fn widen_half(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  out[i] = unpack2x16float(packed[i / 2u])[i % 2u];
}
