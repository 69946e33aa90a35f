// Backward of 2-D average / max pooling (pool2d.wgsl), written as a gather: one invocation
// per input element (n, h, w, c) visits the output windows that contain it.
//   KIND 0 (average): adds dy / count for each window, count as in the forward (COUNT_PAD).
//   KIND 1 (max): adds dy for each window whose max this element is. The window's argmax is
//   regenerated here, so no index buffer is needed: the first maximum in row-major scan
//   order wins (strict >), PyTorch's rule; the forward returns that same value.
// The forward's Params struct, with total = N * H * W * C (input elements).
override KIND: u32 = 0u;
override COUNT_PAD: u32 = 1u;
override WG: u32 = 256u;

struct Params {
  total: u32,
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
// The forward input (max only; average pooling binds dy here and never reads it).
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// Output indices o whose window [o*stride - pad, o*stride - pad + kernel) holds index i,
// as (first, last); empty when first > last.
fn window_range(i: u32, pad: u32, kernel: u32, stride: u32, out_size: u32) -> vec2i {
  let a = i32(i + pad) - i32(kernel) + 1; // o * stride >= a
  var first = 0;
  if (a > 0) { first = (a + i32(stride) - 1) / i32(stride); }
  let last = min(i32((i + pad) / stride), i32(out_size) - 1);
  return vec2i(first, last);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let C = params.channels;
  let c = i % C;
  var r = i / C;
  let w = r % params.in_w;
  r = r / params.in_w;
  let h = r % params.in_h;
  let n = r / params.in_h;

  let hr = window_range(h, params.pad_top, params.kernel_h, params.stride_h, params.out_h);
  let wr = window_range(w, params.pad_left, params.kernel_w, params.stride_w, params.out_w);
  var acc = 0.0;
  for (var oh = hr.x; oh <= hr.y; oh++) {
    // The window clipped to the input, as in the forward.
    let h0 = oh * i32(params.stride_h) - i32(params.pad_top);
    let h_end = h0 + i32(params.kernel_h);
    let hs = u32(max(h0, 0));
    let he = u32(min(h_end, i32(params.in_h)));
    for (var ow = wr.x; ow <= wr.y; ow++) {
      let w0 = ow * i32(params.stride_w) - i32(params.pad_left);
      let w_end = w0 + i32(params.kernel_w);
      let ws = u32(max(w0, 0));
      let we = u32(min(w_end, i32(params.in_w)));
      let g = dy[((n * params.out_h + u32(oh)) * params.out_w + u32(ow)) * C + c];
      if (KIND == 1u) {
        var best = input[((n * params.in_h + hs) * params.in_w + ws) * C + c];
        var best_h = hs;
        var best_w = ws;
        for (var y = hs; y < he; y++) {
          for (var x = ws; x < we; x++) {
            let v = input[((n * params.in_h + y) * params.in_w + x) * C + c];
            if (v > best) {
              best = v;
              best_h = y;
              best_w = x;
            }
          }
        }
        if (best_h == h && best_w == w) { acc += g; }
      } else {
        var count: i32;
        if (COUNT_PAD == 1u) {
          count = (min(h_end, i32(params.in_h + params.pad_bottom)) - h0) *
                  (min(w_end, i32(params.in_w + params.pad_right)) - w0);
        } else {
          count = i32((he - hs) * (we - ws));
        }
        acc += g / f32(count);
      }
    }
  }
  dx[i] = acc;
}
