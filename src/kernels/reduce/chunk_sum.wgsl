// Pass 2 of the chunked reductions: out[i] = sum over k < chunks of partial[k * count + i].
// The serial sum is blocked (BLOCK-term partial sums into a running total) for f32 accuracy.
override WG: u32 = 256u;

const BLOCK: u32 = 16u;

struct Params {
  count: u32,
  chunks: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  var total = 0.0;
  for (var k0 = 0u; k0 < params.chunks; k0 += BLOCK) {
    var part = 0.0;
    let k1 = min(k0 + BLOCK, params.chunks);
    for (var k = k0; k < k1; k++) { part += partial[k * params.count + i]; }
    total += part;
  }
  out[i] = total;
}
