// Activation applied in kernel epilogues. ACTIVATION is an override constant, so the unused
// branches are removed when the pipeline is specialised; activateAs takes the code at run time
// (kernels whose epilogue is a uniform, so one pipeline serves every epilogue).
// Codes match src/kernels/activation/activation.ts: 0 none, 1 relu, 2 relu6, 3 hardswish,
// 4 hardsigmoid, 5 silu (x * sigmoid(x); exp(-x) may overflow to inf, giving -0, the limit),
// 6 sigmoid (the squeeze-excite gate of EfficientNet; overflow gives 0, the limit).
override ACTIVATION: u32 = 0u;

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
    default: { return x; }
  }
}
