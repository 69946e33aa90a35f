// Turning a 3-component JPEG's decoded samples into RGB the way libjpeg(-turbo) does, which is
// what PIL (and so every Python reference pipeline) uses. jpeg-js upsamples subsampled chroma by
// repeating samples and converts YCbCr in floating point with truncation; libjpeg by default uses
// "fancy" (triangle-filter) upsampling for 2:1 factors and integer colour tables with rounding.
// On a 4:2:0 photo the difference reaches tens of levels at colour edges, so we take jpeg-js's raw
// component samples (colorTransform off) and redo these two steps as libjpeg's jdsample.c and
// jdcolor.c define them. (The IDCT itself stays jpeg-js's; it differs from libjpeg's by rounding.)

export interface JpegComponentLayout {
  /** Sampling factors of each component, in frame order. */
  factors: { h: number; v: number }[];
  width: number;
  height: number;
}

/**
 * `samples`: jpeg-js output with colorTransform off: width*height*3, each component already
 * expanded to full size by repetition (sample i of a 2:1 component sits at pixels 2i and 2i+1).
 * Returns RGB (YCbCr converted unless `isRgb`).
 */
export function libjpegStyleRgb(samples: Uint8Array, layout: JpegComponentLayout, isRgb: boolean): Uint8Array {
  const { width: w, height: h } = layout;
  const hmax = Math.max(...layout.factors.map((f) => f.h));
  const vmax = Math.max(...layout.factors.map((f) => f.v));
  const planes = layout.factors.map((f, c) => {
    const plane = new Uint8Array(w * h);
    for (let i = 0; i < w * h; i++) plane[i] = samples[3 * i + c];
    return upsampleLikeLibjpeg(plane, w, h, hmax / f.h, vmax / f.v);
  });
  const out = new Uint8Array(w * h * 3);
  if (isRgb) {
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = planes[c][i];
    return out;
  }
  for (let i = 0; i < w * h; i++) {
    const [r, g, b] = ycbcrToRgb(planes[0][i], planes[1][i], planes[2][i]);
    out[3 * i] = r;
    out[3 * i + 1] = g;
    out[3 * i + 2] = b;
  }
  return out;
}

/**
 * Re-derives a subsampled component from its repeated full-size plane and applies libjpeg's
 * fancy upsampling where libjpeg would (2:1 horizontally and/or vertically); other factors
 * libjpeg also upsamples by repetition, which the plane already is.
 */
function upsampleLikeLibjpeg(full: Uint8Array, w: number, h: number, rh: number, rv: number): Uint8Array {
  const dw = Math.ceil(w / rh); // libjpeg's downsampled_width
  const dh = Math.ceil(h / rv);
  const h2 = rh === 2 && dw > 2; // libjpeg only filters horizontally when width > 2
  const fancy = (rh === 2 && rv === 1 && h2) || (rh === 1 && rv === 2) || (rh === 2 && rv === 2 && h2);
  if (!fancy) return full;
  const small = new Uint8Array(dw * dh);
  for (let y = 0; y < dh; y++) for (let x = 0; x < dw; x++) small[y * dw + x] = full[y * rv * w + x * rh];
  // Row r of the component, with the edge rows repeated beyond the image (libjpeg's context rows).
  const row = (r: number) => Math.min(Math.max(r, 0), dh - 1) * dw;
  const out = new Uint8Array(w * h);
  const put = (x: number, y: number, v: number) => {
    if (x < w && y < h) out[y * w + x] = v;
  };
  if (rv === 1) {
    // h2v1: 3/4 nearer + 1/4 further sample, biased +1 / +2 alternately; edges replicated.
    for (let y = 0; y < dh; y++) {
      const s = small.subarray(row(y), row(y) + dw);
      put(0, y, s[0]);
      put(1, y, (s[0] * 3 + s[1] + 2) >> 2);
      for (let x = 1; x < dw - 1; x++) {
        put(2 * x, y, (s[x] * 3 + s[x - 1] + 1) >> 2);
        put(2 * x + 1, y, (s[x] * 3 + s[x + 1] + 2) >> 2);
      }
      put(2 * dw - 2, y, (s[dw - 1] * 3 + s[dw - 2] + 1) >> 2);
      put(2 * dw - 1, y, s[dw - 1]);
    }
    return out;
  }
  for (let y = 0; y < dh; y++) {
    for (let v = 0; v < 2; v++) {
      const near = row(y);
      const far = row(v === 0 ? y - 1 : y + 1);
      const oy = 2 * y + v;
      // Column sums: 3 * nearer row + further row.
      const col = (x: number) => small[near + x] * 3 + small[far + x];
      if (rh === 1) {
        for (let x = 0; x < dw; x++) put(x, oy, (col(x) + 1) >> 2);
        continue;
      }
      put(0, oy, (col(0) * 4 + 8) >> 4);
      put(1, oy, (col(0) * 3 + col(1) + 7) >> 4);
      for (let x = 1; x < dw - 1; x++) {
        put(2 * x, oy, (col(x) * 3 + col(x - 1) + 8) >> 4);
        put(2 * x + 1, oy, (col(x) * 3 + col(x + 1) + 7) >> 4);
      }
      put(2 * dw - 2, oy, (col(dw - 1) * 3 + col(dw - 2) + 8) >> 4);
      put(2 * dw - 1, oy, (col(dw - 1) * 4 + 7) >> 4);
    }
  }
  return out;
}

// jdcolor.c's fixed-point tables: 16 fractional bits, coefficients rounded to nearest.
const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number) => Math.floor(x * (1 << SCALEBITS) + 0.5);
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

const clamp255 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

function ycbcrToRgb(y: number, cb: number, cr: number): [number, number, number] {
  return [clamp255(y + CR_R[cr]), clamp255(y + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS)), clamp255(y + CB_B[cb])];
}
