// Gradient of a bilinear resize along one axis, as a gather. Bilinear resizing is separable
// (out = Ry . x . Rx^T per channel), so its gradient is two passes of the transposed 1-D
// interpolation: along W (outer = N*OH, inner = C), then along H (outer = N, inner = W*C).
// Each invocation owns one input position i of the axis and sums the output positions whose
// taps land on it; it recomputes those taps with the forward's own code (bilinear_taps.wgsl's
// source_coord, floor and clamp), so it is exactly the forward's transpose. Candidates are
// the outputs whose source coordinate lies within [i - 1, i + 1], widened by one each side.
//#include "bilinear_taps.wgsl"
override WG: u32 = 256u;

struct AxisParams {
  total: u32,   // outer * in_len * inner
  inner: u32,
  in_len: u32,
  out_len: u32,
  scale: f32,   // as the forward's scale_h / scale_w
  offset: f32,  // source-coordinate offset of the mode (0.5 for half-pixel centres, else 0)
}

@group(0) @binding(0) var<uniform> axis: AxisParams;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= axis.total) { return; }
  let j = idx % axis.inner;
  let rest = idx / axis.inner;
  let i = rest % axis.in_len;
  let outer = rest / axis.in_len;
  var lo = 0u;
  var hi = axis.out_len - 1u;
  if (axis.scale > 0.0) {
    // src(o) ~ (o + offset) * scale - offset; solve src = i - 1 and src = i + 1 for o.
    let first = (f32(i) - 1.0 + axis.offset) / axis.scale - axis.offset - 1.0;
    let last = (f32(i) + 1.0 + axis.offset) / axis.scale - axis.offset + 1.0;
    lo = u32(max(floor(first), 0.0));
    if (i + 1u < axis.in_len) { hi = min(u32(max(ceil(last), 0.0)), axis.out_len - 1u); }
  }
  var sum = 0.0;
  for (var o = lo; o <= hi; o++) {
    let src = source_coord(o, axis.scale);
    let i0 = min(u32(floor(src)), axis.in_len - 1u);
    let i1 = min(i0 + 1u, axis.in_len - 1u);
    let l = src - f32(i0);
    var w = 0.0;
    if (i0 == i) { w += 1.0 - l; }
    if (i1 == i) { w += l; }
    if (w != 0.0) { sum += w * dy[(outer * axis.out_len + o) * axis.inner + j]; }
  }
  dx[idx] = sum;
}
