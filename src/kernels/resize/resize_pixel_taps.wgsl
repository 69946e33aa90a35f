// The taps of output pixel `p` (pixels numbered n, oy, ox row-major) for the kernels whose
// uniforms are `params: ResizeParams` (bilinear_taps.wgsl).
//#include "bilinear_taps.wgsl"

fn pixel_taps(p: u32) -> Taps {
  let ox = p % params.out_w;
  let r = p / params.out_w;
  let oy = r % params.out_h;
  let n = r / params.out_h;
  return bilinear_taps(n, oy, ox, params.in_h, params.in_w, params.scale_h, params.scale_w);
}
