// Activation applied in kernel epilogues. ACTIVATION is an override constant, so the unused
// branches are removed when the pipeline is specialised; activateAs takes the code at run time
// (kernels whose epilogue is a uniform, so one pipeline serves every epilogue).
// Codes match src/kernels/activation/activation.ts: 0 none, 1 relu, 2 relu6, 3 hardswish,
// 4 hardsigmoid, 5 silu (x * sigmoid(x); exp(-x) may overflow to inf, giving -0, the limit),
// 6 sigmoid (the squeeze-excite gate of EfficientNet; overflow gives 0, the limit).
// 7 gelu (PyTorch's exact x Phi(x), through erfc: see onePlusErf), 8 tanh, 9 erf (ONNX's Tanh
// and Erf, where an imported graph has them on their own).
override ACTIVATION: u32 = 0u;

// erfc(z) for z >= 0 to about f32's precision, relative (WGSL has no erf): below 1.2 the series
// erf(z) = 2/sqrt(pi) exp(-z^2) sum_n (2z^2)^n z / (1*3*...*(2n+1)) (positive terms, no
// cancellation), from 1.2 the continued fraction exp(-z^2)/sqrt(pi) / (z + (1/2)/(z + (2/2)/(z +
// ...))), 32 terms; src/kernels/activation/erf.ts is the float64 reference of the same forms.
fn erfSeries(z: f32) -> f32 {
  let q = 2.0 * z * z;
  var term = z;
  var sum = z;
  for (var n = 1u; n < 24u; n++) {
    term *= q / f32(2u * n + 1u);
    sum += term;
    if (term < sum * 1e-8) { break; }
  }
  return 1.1283791671 * exp(-z * z) * sum;
}

fn erfcNonNegative(z: f32) -> f32 {
  if (z < 1.2) {
    return 1.0 - erfSeries(z);
  }
  var f = z;
  for (var n = 32u; n > 0u; n--) {
    f = z + f32(n) * 0.5 / f;
  }
  return 0.5641895835 * exp(-z * z) / f;
}

// 1 + erf(x / sqrt 2) = 2 Phi(x); for negative x erfc(|x| / sqrt 2) directly, so the tail keeps
// its relative precision (GELU and its slope are small there, not zero).
fn onePlusErf(x: f32) -> f32 {
  let e = erfcNonNegative(abs(x) * 0.70710678118);
  return select(e, 2.0 - e, x >= 0.0);
}

// erf(x), odd; the series directly below 1.2 (no cancellation near 0), 1 - erfc above.
fn erfOf(x: f32) -> f32 {
  let z = abs(x);
  let e = select(1.0 - erfcNonNegative(z), erfSeries(z), z < 1.2);
  return select(-e, e, x >= 0.0);
}

fn activate(x: f32) -> f32 {
  return activateAs(x, ACTIVATION);
}

fn activateAs(x: f32, code: u32) -> f32 {
  switch code {
    case 1u: { return max(x, 0.0); }
    case 2u: { return clamp(x, 0.0, 6.0); }
    case 3u: { return x * clamp(x + 3.0, 0.0, 6.0) / 6.0; }
    case 4u: { return clamp(x + 3.0, 0.0, 6.0) / 6.0; }
    case 5u: { return x / (1.0 + exp(-x)); }
    case 6u: { return 1.0 / (1.0 + exp(-x)); }
    case 7u: { return 0.5 * x * onePlusErf(x); }
    case 8u: { return tanh(x); }
    case 9u: { return erfOf(x); }
    default: { return x; }
  }
}
