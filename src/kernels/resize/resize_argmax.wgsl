// Fused bilinear resize + argmax over channels: [N,H,W,C] f32 -> [N,OH,OW] u32 class indices.
// Bringing logits back to a photo's size only needs the winning class per pixel; materialising
// the resized logits (OH*OW*C floats: over 1 GB for a 12-megapixel photo) is avoided.
// Ties go to the lowest channel, as in the argmax kernel.
//#include "resize_pixel_taps.wgsl"
override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: ResizeParams; // total = N * OH * OW
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let C = params.channels;
  let t = pixel_taps(i);
  var best = 0u;
  var best_value = 0.0;
  for (var c = 0u; c < C; c++) {
    let v = (1.0 - t.ly) * ((1.0 - t.lx) * input[t.p00 * C + c] + t.lx * input[t.p01 * C + c]) +
            t.ly * ((1.0 - t.lx) * input[t.p10 * C + c] + t.lx * input[t.p11 * C + c]);
    if (c == 0u || v > best_value) {
      best = c;
      best_value = v;
    }
  }
  out[i] = best;
}
