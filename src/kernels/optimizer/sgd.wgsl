// SGD with momentum and weight decay, in place, as torch.optim.SGD (dampening 0, no Nesterov):
//   d = grad + weight_decay * p
//   buf = d (first step) | momentum * buf + d
//   p = p - lr * buf
// lr, momentum, weight decay and the first-step flag are per-run values (a 4-float input), so
// the schedule changes the rate every step without rebuilding anything; per-parameter group
// multipliers of lr and weight decay are fixed when the program is built.
override WG: u32 = 256u;

struct Params {
  total: u32,
  lr_scale: f32,
  decay_scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> hyper: array<f32>; // lr, momentum, weight decay, first (1 or 0)
@group(0) @binding(3) var<storage, read_write> param: array<f32>;
@group(0) @binding(4) var<storage, read_write> momentum_buf: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  let lr = hyper[0] * params.lr_scale;
  let d = grad[i] + hyper[2] * params.decay_scale * param[i];
  var buf = d;
  if (hyper[3] == 0.0) { buf = hyper[1] * momentum_buf[i] + d; }
  momentum_buf[i] = buf;
  param[i] = param[i] - lr * buf;
}
