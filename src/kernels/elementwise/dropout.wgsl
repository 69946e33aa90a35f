// Inverted dropout: out = x / (1 - p) where a hash of (seed, salt, index or channel) keeps the
// element, else 0. The mask is recomputed, never stored: the gradient is the same op applied to dy.
override WG: u32 = 256u;

struct Params {
  total: u32,
  // An element is dropped when its hash is below this (p * 2^32).
  threshold: u32,
  // Tells one dropout layer's mask from another's under the same seed.
  salt: u32,
  scale: f32,
  // A draw is keyed by (i / plane) * channels + i % channels: per (image, channel) for channelwise
  // dropout of NHWC tensors, per element when both equal total.
  channels: u32,
  plane: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> seed: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// A 32-bit integer mixer (two multiply-xorshift rounds).
fn mix32(v: u32) -> u32 {
  var h = v;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let key = (i / params.plane) * params.channels + i % params.channels;
  let h = mix32(key ^ mix32(seed[0] ^ mix32(params.salt)));
  out[i] = select(0.0, x[i] * params.scale, h >= params.threshold);
}
