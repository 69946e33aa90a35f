// Where an output pixel of a bilinear resize samples its input: the four neighbours (as pixel
// indices into an NHWC map, channel 0) and the two interpolation weights. Shared by the resize
// kernel and the fused resize + argmax kernel so both follow one convention.
//   MODE (source coordinate of output index d, with `scale` computed on the host):
//     0 align_corners: d * (in-1)/(out-1)           (scale = 0 when out == 1)
//     1 half_pixel:    max((d + 0.5) * in/out - 0.5, 0)
//     2 asymmetric:    d * in/out
// The upper neighbour is clamped to the last row/column, as PyTorch and TF do.
override MODE: u32 = 0u;

// Params of every kernel that includes this file (src/kernels/resize/resize.ts resizeUniforms).
struct ResizeParams {
  total: u32, // invocations: output elements or output pixels, as the kernel says
  channels: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  scale_h: f32,
  scale_w: f32,
}

struct Taps {
  p00: u32,
  p01: u32,
  p10: u32,
  p11: u32,
  lx: f32,
  ly: f32,
}

fn source_coord(d: u32, scale: f32) -> f32 {
  let x = f32(d);
  if (MODE == 1u) { return max((x + 0.5) * scale - 0.5, 0.0); }
  return x * scale;
}

fn bilinear_taps(n: u32, oy: u32, ox: u32, in_h: u32, in_w: u32, scale_h: f32, scale_w: f32) -> Taps {
  let sy = source_coord(oy, scale_h);
  let sx = source_coord(ox, scale_w);
  let y0 = min(u32(floor(sy)), in_h - 1u);
  let x0 = min(u32(floor(sx)), in_w - 1u);
  let y1 = min(y0 + 1u, in_h - 1u);
  let x1 = min(x0 + 1u, in_w - 1u);
  let top = (n * in_h + y0) * in_w;
  let bottom = (n * in_h + y1) * in_w;
  // When the neighbours coincide (last row/column) the weight no longer matters.
  return Taps(top + x0, top + x1, bottom + x0, bottom + x1, sx - f32(x0), sy - f32(y0));
}
