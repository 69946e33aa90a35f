// Pass 2 of the chunked reductions: out[i] = sum over k < chunks of partial[k * count + i].
override WG: u32 = 256u;

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
  var sum = 0.0;
  for (var k = 0u; k < params.chunks; k++) { sum += partial[k * params.count + i]; }
  out[i] = sum;
}
