// Bilinear resize of NHWC maps over H and W, one invocation per output element.
//   MODE (source coordinate of output index d, with `scale` computed on the host):
//     0 align_corners: d * (in-1)/(out-1)           (scale = 0 when out == 1)
//     1 half_pixel:    max((d + 0.5) * in/out - 0.5, 0)
//     2 asymmetric:    d * in/out
// The upper neighbour is clamped to the last row/column, as PyTorch and TF do.
override MODE: u32 = 0u;
override WG: u32 = 256u;

struct Params {
  total: u32, // N * OH * OW * C
  channels: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  scale_h: f32,
  scale_w: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn source_coord(d: u32, scale: f32) -> f32 {
  let x = f32(d);
  if (MODE == 1u) { return max((x + 0.5) * scale - 0.5, 0.0); }
  return x * scale;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let C = params.channels;
  let c = i % C;
  var r = i / C;
  let ox = r % params.out_w;
  r = r / params.out_w;
  let oy = r % params.out_h;
  let n = r / params.out_h;

  let sy = source_coord(oy, params.scale_h);
  let sx = source_coord(ox, params.scale_w);
  let y0 = min(u32(floor(sy)), params.in_h - 1u);
  let x0 = min(u32(floor(sx)), params.in_w - 1u);
  let y1 = min(y0 + 1u, params.in_h - 1u);
  let x1 = min(x0 + 1u, params.in_w - 1u);
  // When the neighbours coincide (last row/column) the weight no longer matters.
  let ly = sy - f32(y0);
  let lx = sx - f32(x0);

  let image = n * params.in_h;
  let top = (image + y0) * params.in_w;
  let bottom = (image + y1) * params.in_w;
  let v00 = input[(top + x0) * C + c];
  let v01 = input[(top + x1) * C + c];
  let v10 = input[(bottom + x0) * C + c];
  let v11 = input[(bottom + x1) * C + c];
  out[i] = (1.0 - ly) * ((1.0 - lx) * v00 + lx * v01) + ly * ((1.0 - lx) * v10 + lx * v11);
}
