// Elementwise ops over flat NHWC tensors: out = activate(a OP b) or out = activate(a).
//   OP: 0 = unary (b unused), 1 = add, 2 = multiply.
//   B_BROADCAST: 0 = b has a's shape; 1 = b is [N,1,1,C] broadcast over H and W
//   (squeeze-and-excite scaling).
//#include "activation.wgsl"

override OP: u32 = 0u;
override B_BROADCAST: u32 = 0u;
override WG: u32 = 256u;

struct Params {
  total: u32,     // elements in a / out
  channels: u32,  // C
  hw: u32,        // H * W (for the broadcast index)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<elem_t>;
@group(0) @binding(2) var<storage, read> b: array<elem_t>;
@group(0) @binding(3) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  var x = f32(a[i]);
  if (OP != 0u) {
    var j = i;
    if (B_BROADCAST == 1u) {
      let c = i % params.channels;
      let n = i / (params.channels * params.hw);
      j = n * params.channels + c;
    }
    let y = f32(b[j]);
    if (OP == 1u) { x = x + y; } else { x = x * y; }
  }
  out[i] = elem_t(activate(x));
}
