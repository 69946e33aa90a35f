// Gradient of an activation: dx = dy * f'(x), with x the activation's input. The derivative
// at the kinks follows PyTorch: relu'(0) = 0; relu6' = 1 only on (0, 6); hardswish' = 0 below
// -3, (2x + 3) / 6 on [-3, 3], 1 above; hardsigmoid' = 1/6 on (-3, 3). SiLU is smooth:
// s (1 + x (1 - s)) with s = sigmoid(x); sigmoid' = s (1 - s). GELU: Phi(x) + x phi(x).
// Codes match src/kernels/activation/activation.ts: 0 none, 1 relu, 2 relu6, 3 hardswish,
// 4 hardsigmoid, 5 silu, 6 sigmoid, 7 gelu, 8 tanh, 9 erf.
//#include "activation.wgsl"

override WG: u32 = 256u;

struct Params {
  total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn derivative(v: f32) -> f32 {
  switch ACTIVATION {
    case 1u: { return select(0.0, 1.0, v > 0.0); }
    case 2u: { return select(0.0, 1.0, v > 0.0 && v < 6.0); }
    case 3u: {
      if (v < -3.0) { return 0.0; }
      if (v <= 3.0) { return (2.0 * v + 3.0) / 6.0; }
      return 1.0;
    }
    case 4u: { return select(0.0, 1.0 / 6.0, v > -3.0 && v < 3.0); }
    case 5u: {
      let s = 1.0 / (1.0 + exp(-v));
      return s * (1.0 + v * (1.0 - s));
    }
    case 6u: {
      // Even in v: e s^2 with e = exp(-|v|) and s = 1 / (1 + e) = sigmoid(|v|), so 1 - s is
      // never formed by cancellation and exp never overflows.
      let e = exp(-abs(v));
      let s = 1.0 / (1.0 + e);
      return e * s * s;
    }
    case 7u: { return 0.5 * onePlusErf(v) + v * exp(-0.5 * v * v) * 0.39894228040; }
    case 8u: {
      // sech^2 as 4 e / (1 + e)^2 with e = exp(-2|v|): no cancellation where tanh nears 1.
      let e = exp(-2.0 * abs(v));
      return 4.0 * e / ((1.0 + e) * (1.0 + e));
    }
    case 9u: { return 1.1283791671 * exp(-v * v); }
    default: { return 1.0; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  dx[i] = dy[i] * derivative(x[i]);
}
