// Sums a tensor over the axes a target shape of the same rank has at extent 1 (the gradient of a
// broadcast: each operand's share of the output's gradient). One invocation per output element;
// it walks the reduced axes in order. The host pads to rank 6 and passes, per axis, the output's
// extent and its input stride (kept axes), and the reduced extents and their input strides.

override WG: u32 = 256u;

struct Params {
  total: u32,
  count: u32, // elements summed into each output
  d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32, // output extents
  s0: u32, s1: u32, s2: u32, s3: u32, s4: u32, s5: u32, // their input strides
  r0: u32, r1: u32, r2: u32, r3: u32, r4: u32, r5: u32, // reduced extents (1 where kept)
  t0: u32, t1: u32, t2: u32, t3: u32, t4: u32, t5: u32, // their input strides
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  var rest = i;
  var base = (rest % params.d5) * params.s5;
  rest = rest / params.d5;
  base += (rest % params.d4) * params.s4;
  rest = rest / params.d4;
  base += (rest % params.d3) * params.s3;
  rest = rest / params.d3;
  base += (rest % params.d2) * params.s2;
  rest = rest / params.d2;
  base += (rest % params.d1) * params.s1;
  rest = rest / params.d1;
  base += rest * params.s0;
  var sum = 0.0;
  for (var k = 0u; k < params.count; k++) {
    var r = k;
    var src = base + (r % params.r5) * params.t5;
    r = r / params.r5;
    src += (r % params.r4) * params.t4;
    r = r / params.r4;
    src += (r % params.r3) * params.t3;
    r = r / params.r3;
    src += (r % params.r2) * params.t2;
    r = r / params.r2;
    src += (r % params.r1) * params.t1;
    r = r / params.r1;
    src += r * params.t0;
    sum += f32(input[src]);
  }
  out[i] = elem_t(sum);
}
