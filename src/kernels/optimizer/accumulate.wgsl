// In-place gradient accumulation over micro-batches: acc = (first ? 0 : acc) + g.
// `first` is a per-run flag (a one-element u32 input), so one program serves every micro-batch.

override WG: u32 = 256u;

struct Params {
  total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> first: array<u32>;
@group(0) @binding(3) var<storage, read_write> acc: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  if (first[0] != 0u) {
    acc[i] = g[i];
  } else {
    acc[i] = acc[i] + g[i];
  }
}
