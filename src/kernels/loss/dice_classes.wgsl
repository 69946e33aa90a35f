// Soft Dice loss, pass 2 of 3: workgroup c sums class c over every pixel of the batch (smp's
// dims (0, 2)): sum p, sum p t, sum t (t = label == c), with Kahan compensation per lane, then a
// tree. It writes stats[c] = (dice, S, w, 0):
//   S = sum p + sum t,  dice = 2 sum(p t) / max(S, eps)
//   w = scale / counted classes if the class counts and has a target pixel, else 0 (smp masks
//       classes without one; binary mode counts only class 1, the foreground)
// Workgroup 0 also counts labels that are neither a class nor the ignore index.
override BINARY: u32 = 0u;
const LANES: u32 = 256u;
const EPS: f32 = 1e-7;

struct Params {
  pixels: u32,
  classes: u32,
  ignore_index: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> stats: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> invalid: array<u32>;

var<workgroup> sums: array<vec4f, LANES>;

@compute @workgroup_size(LANES)
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3u) {
  let c = wid.x;
  let C = params.classes;
  var total = vec4f(0.0);
  var carry = vec4f(0.0);
  for (var p = lane; p < params.pixels; p += LANES) {
    let y = labels[p];
    let prob = probs[p * C + c];
    let t = select(0.0, 1.0, y == c);
    let bad = select(0.0, 1.0, y >= C && y != params.ignore_index);
    let term = vec4f(prob, prob * t, t, bad) - carry;
    let next = total + term;
    carry = (next - total) - term;
    total = next;
  }
  sums[lane] = total;
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) { sums[lane] += sums[lane + stride]; }
    workgroupBarrier();
  }
  if (lane == 0u) {
    let t = sums[0];
    let S = t.x + t.z;
    let counted = BINARY == 0u || c == 1u;
    let share = select(1.0 / f32(C), 1.0, BINARY == 1u);
    let w = select(0.0, params.scale * share, counted && t.z > 0.0);
    stats[c] = vec4f(2.0 * t.y / max(S, EPS), S, w, 0.0);
    if (c == 0u) { invalid[0] = u32(round(t.w)); }
  }
}
