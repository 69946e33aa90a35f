// NCHW (PyTorch's fixtures) and NHWC (our tensors) on the host, for comparing with fixtures.

export function nchwToNhwc(data: Float32Array, [n, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < c; ci++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ci] = data[((b * c + ci) * h + y) * w + x];
  return out;
}

export function nhwcToNchw(data: Float32Array, [n, h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ci = 0; ci < c; ci++) out[((b * c + ci) * h + y) * w + x] = data[((b * h + y) * w + x) * c + ci];
  return out;
}
