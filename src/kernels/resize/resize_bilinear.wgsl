// Bilinear resize of NHWC maps over H and W: `main` one invocation per output element (GPUs:
// neighbouring invocations read and write neighbouring words), `pixels` one per output pixel
// (software adapters); src/kernels/resize/resize.ts chooses by adapter class.
//#include "resize_pixel_taps.wgsl"
override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: ResizeParams; // total = N * OH * OW * C
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let C = params.channels;
  let c = i % C;
  let t = pixel_taps(i / C);
  let v00 = f32(input[t.p00 * C + c]);
  let v01 = f32(input[t.p01 * C + c]);
  let v10 = f32(input[t.p10 * C + c]);
  let v11 = f32(input[t.p11 * C + c]);
  out[i] = elem_t((1.0 - t.ly) * ((1.0 - t.lx) * v00 + t.lx * v01) + t.ly * ((1.0 - t.lx) * v10 + t.lx * v11));
}

// One invocation per output pixel, looping over its channels: the taps are worked out once a
// pixel instead of once an element (software adapters, where that arithmetic dominates).
@compute @workgroup_size(WG)
fn pixels(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let C = params.channels;
  let t = pixel_taps(i);
  for (var c = 0u; c < C; c++) {
    // The element kernel's arithmetic, term for term: both give the same bits.
    let v00 = f32(input[t.p00 * C + c]);
    let v01 = f32(input[t.p01 * C + c]);
    let v10 = f32(input[t.p10 * C + c]);
    let v11 = f32(input[t.p11 * C + c]);
    let v = (1.0 - t.ly) * ((1.0 - t.lx) * v00 + t.lx * v01) + t.ly * ((1.0 - t.lx) * v10 + t.lx * v11);
    out[i * C + c] = elem_t(v);
  }
}
