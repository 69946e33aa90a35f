// A general axis permutation with reshapes on either side: the input viewed as `view`, its axes
// reordered (output axis i is view axis perm[i]), the result read as any shape of as many
// elements (a row-major reshape changes no memory). One invocation per output element; the
// host pads the permuted view to rank 6 with leading unit axes and passes, for each output
// axis, its extent and the stride of its view axis in the input.

override WG: u32 = 256u;

struct Params {
  total: u32,
  d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32, // permuted view's extents
  s0: u32, s1: u32, s2: u32, s3: u32, s4: u32, s5: u32, // their strides in the input
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  var rest = i;
  var src = (rest % params.d5) * params.s5;
  rest = rest / params.d5;
  src += (rest % params.d4) * params.s4;
  rest = rest / params.d4;
  src += (rest % params.d3) * params.s3;
  rest = rest / params.d3;
  src += (rest % params.d2) * params.s2;
  rest = rest / params.d2;
  src += (rest % params.d1) * params.s1;
  rest = rest / params.d1;
  src += rest * params.s0;
  out[i] = input[src];
}
