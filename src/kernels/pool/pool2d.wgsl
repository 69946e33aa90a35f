// 2-D average / max pooling over NHWC, one invocation per output element.
//   KIND: 0 = average, 1 = max.
//   COUNT_PAD (average only): 1 divides by the window's size including padded taps
//   (PyTorch count_include_pad=True), 0 by the number of real taps (TF 'SAME').
// Padded taps never contribute to a sum and act as -inf for max; the host guarantees every
// window holds at least one real tap (each pad < kernel), so max starts from a real value.
override KIND: u32 = 0u;
override COUNT_PAD: u32 = 1u;
override WG: u32 = 256u;

struct Params {
  total: u32, // N * OH * OW * C
  channels: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  kernel_h: u32,
  kernel_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_top: u32,
  pad_left: u32,
  pad_bottom: u32,
  pad_right: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read_write> out: array<elem_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let C = params.channels;
  let c = i % C;
  var r = i / C;
  let ow = r % params.out_w;
  r = r / params.out_w;
  let oh = r % params.out_h;
  let n = r / params.out_h;

  // Window in input coordinates (may start in the top/left padding, hence signed).
  let h0 = i32(oh * params.stride_h) - i32(params.pad_top);
  let w0 = i32(ow * params.stride_w) - i32(params.pad_left);
  let h_end = h0 + i32(params.kernel_h);
  let w_end = w0 + i32(params.kernel_w);
  let hs = u32(max(h0, 0));
  let ws = u32(max(w0, 0));
  let he = u32(min(h_end, i32(params.in_h)));
  let we = u32(min(w_end, i32(params.in_w)));

  let image = n * params.in_h;
  var acc = f32(input[((image + hs) * params.in_w + ws) * C + c]);
  if (KIND == 0u) { acc = 0.0; }
  for (var h = hs; h < he; h++) {
    let row = (image + h) * params.in_w;
    for (var w = ws; w < we; w++) {
      let v = f32(input[(row + w) * C + c]);
      if (KIND == 1u) { acc = max(acc, v); } else { acc += v; }
    }
  }
  if (KIND == 0u) {
    var count: i32;
    if (COUNT_PAD == 1u) {
      // Window clipped to the padded input (equals kernel_h * kernel_w for valid output sizes).
      count = (min(h_end, i32(params.in_h + params.pad_bottom)) - h0) *
              (min(w_end, i32(params.in_w + params.pad_right)) - w0);
    } else {
      count = i32((he - hs) * (we - ws));
    }
    acc = acc / f32(count);
  }
  out[i] = elem_t(acc);
}
