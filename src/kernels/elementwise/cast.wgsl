// Float precision casts for half-precision programs (src/graph/half.ts), compiled only in the
// f16 variant, where elem_t is f16. `to_half` rounds f32 values to f16 (nearest; f16's range
// is +-65504, which our activations stay well inside); `to_single` widens f16 exactly.
// The two entry points bind different types at the same slots (each uses only its own pair).
override WG: u32 = 256u;

struct Params {
  total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;

@group(0) @binding(1) var<storage, read> single_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> half_out: array<elem_t>;

@group(0) @binding(1) var<storage, read> half_in: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> single_out: array<f32>;

@compute @workgroup_size(WG)
fn to_half(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  half_out[i] = elem_t(single_in[i]);
}

@compute @workgroup_size(WG)
fn to_single(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  single_out[i] = f32(half_in[i]);
}
