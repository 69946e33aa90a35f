// Float64 ports of reference forwards (timm's, smp's) on [C, H, W] maps, for the encoders without
// a logits fixture: the map, a torch Conv2d's geometry, and the convolution itself.

/** A CHW map in float64. */
export interface Map3 {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}

export const map3 = (c: number, h: number, w: number): Map3 => ({ c, h, w, d: new Float64Array(c * h * w) });

/** A torch Conv2d as built (after smp's or timm's dilation). */
export interface TorchConv {
  cin: number;
  cout: number;
  k: number;
  stride: number;
  padding: number;
  dilation: number;
  groups: number;
}

/** nn.Conv2d's forward with our HWIO weights [k, k, cin/groups, cout] (and a bias). */
export function conv2dHwio(x: Map3, w: ArrayLike<number>, c: TorchConv, bias?: ArrayLike<number>): Map3 {
  const oh = Math.floor((x.h + 2 * c.padding - c.dilation * (c.k - 1) - 1) / c.stride) + 1;
  const ow = Math.floor((x.w + 2 * c.padding - c.dilation * (c.k - 1) - 1) / c.stride) + 1;
  const y = map3(c.cout, oh, ow);
  const [cinG, coutG] = [c.cin / c.groups, c.cout / c.groups];
  for (let co = 0; co < c.cout; co++) {
    const g = Math.floor(co / coutG);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let acc = bias ? bias[co] : 0;
        for (let ky = 0; ky < c.k; ky++) {
          const iy = oy * c.stride - c.padding + ky * c.dilation;
          if (iy < 0 || iy >= x.h) continue;
          for (let kx = 0; kx < c.k; kx++) {
            const ix = ox * c.stride - c.padding + kx * c.dilation;
            if (ix < 0 || ix >= x.w) continue;
            for (let ci = 0; ci < cinG; ci++) acc += x.d[((g * cinG + ci) * x.h + iy) * x.w + ix] * w[((ky * c.k + kx) * cinG + ci) * c.cout + co];
          }
        }
        y.d[(co * oh + oy) * ow + ox] = acc;
      }
    }
  }
  return y;
}
