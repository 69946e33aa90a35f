// The overlay drawn on the GPU into a canvas or any colour target (src/gpu/overlay-renderer.ts):
// a render pass, not a compute kernel. One triangle covers the target; each fragment is the
// frame's pixel with its class colour blended in as overlayPalette (src/io/overlay.ts) does on
// the CPU: round((1 - alpha) * photo + alpha * colour) for classes other than 0 (background,
// and a class beyond the palette, stay the photo). The result is a whole byte over 255, so the
// target's unorm conversion stores exactly that byte.
struct Params {
  frame_w: u32,
  frame_h: u32,
  target_w: u32,
  target_h: u32,
  entries: u32, // palette colours
  alpha: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var frame: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> classes: array<u32>; // [frame_h, frame_w]
@group(0) @binding(3) var<storage, read> palette: array<u32>; // one packed RGB colour per class

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  // (-1, -1), (3, -1), (-1, 3): the target's square and beyond, clipped.
  let xy = vec2f(f32((i << 1u) & 2u), f32(i & 2u)) * 2.0 - 1.0;
  return vec4f(xy, 0.0, 1.0);
}

@fragment
fn fs(@builtin(position) position: vec4f) -> @location(0) vec4f {
  // The frame pixel under this target pixel (nearest; one to one when the sizes agree).
  let x = min(u32(position.x) * params.frame_w / params.target_w, params.frame_w - 1u);
  let y = min(u32(position.y) * params.frame_h / params.target_h, params.frame_h - 1u);
  let photo = round(textureLoad(frame, vec2u(x, y), 0).rgb * 255.0);
  var rgb = photo;
  let c = classes[y * params.frame_w + x];
  if (c != 0u && c < params.entries) {
    let p = palette[c];
    let colour = vec3f(f32(p & 255u), f32((p >> 8u) & 255u), f32((p >> 16u) & 255u));
    // floor(v + 0.5): Math.round's halves up (WGSL's round() takes halves to even).
    rgb = floor((1.0 - params.alpha) * photo + params.alpha * colour + 0.5);
  }
  return vec4f(rgb / 255.0, 1.0);
}
