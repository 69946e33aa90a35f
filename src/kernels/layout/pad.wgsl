// Zero padding and cropping of an NHWC map's sides: out[n, y, x, c] = input[n, y - top, x - left, c]
// where that pixel exists, else 0. A negative side crops (MobileViTV2 crops a map to whole
// patches before unfolding it and pads the folded map back with zeros).

override WG: u32 = 256u;

struct Params {
  total: u32,    // output elements
  outH: u32,
  outW: u32,
  channels: u32,
  inH: u32,
  inW: u32,
  top: i32,
  left: i32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let c = i % params.channels;
  let pixel = i / params.channels;
  let x = i32(pixel % params.outW);
  let rows = pixel / params.outW; // n * outH + y
  let y = i32(rows % params.outH);
  let n = rows / params.outH;
  let sy = y - params.top;
  let sx = x - params.left;
  if (sy < 0 || sx < 0 || sy >= i32(params.inH) || sx >= i32(params.inW)) {
    out[i] = elem_t(0.0);
    return;
  }
  out[i] = input[((n * params.inH + u32(sy)) * params.inW + u32(sx)) * params.channels + c];
}
