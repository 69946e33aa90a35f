// Elementwise ops of two tensors of one rank broadcast numpy-style (an axis of extent 1 in an
// operand is read at index 0 along the whole output), and the broadcast of one tensor to a larger
// shape: OP 0 copies a (expand), 1 a + b, 2 a - b, 3 a * b, 4 a / b. The host pads shapes to
// rank 6 with leading unit axes and passes the output's extents and each operand's strides, 0
// on the axes it broadcasts. One invocation per output element.

override OP: u32 = 1u;
override WG: u32 = 256u;

struct Params {
  total: u32,
  d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32, // output extents
  a0: u32, a1: u32, a2: u32, a3: u32, a4: u32, a5: u32, // a's strides
  b0: u32, b1: u32, b2: u32, b3: u32, b4: u32, b5: u32, // b's strides
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<elem_t>;
@group(0) @binding(2) var<storage, read> b: array<elem_t>;
@group(0) @binding(3) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  var rest = i;
  var k = rest % params.d5;
  var ia = k * params.a5;
  var ib = k * params.b5;
  rest = rest / params.d5;
  k = rest % params.d4;
  ia += k * params.a4;
  ib += k * params.b4;
  rest = rest / params.d4;
  k = rest % params.d3;
  ia += k * params.a3;
  ib += k * params.b3;
  rest = rest / params.d3;
  k = rest % params.d2;
  ia += k * params.a2;
  ib += k * params.b2;
  rest = rest / params.d2;
  k = rest % params.d1;
  ia += k * params.a1;
  ib += k * params.b1;
  rest = rest / params.d1;
  ia += rest * params.a0;
  ib += rest * params.b0;
  let x = f32(a[ia]);
  var r = x;
  if (OP != 0u) {
    let y = f32(b[ib]);
    switch OP {
      case 1u: { r = x + y; }
      case 2u: { r = x - y; }
      case 3u: { r = x * y; }
      default: { r = x / y; }
    }
  }
  out[i] = elem_t(r);
}
