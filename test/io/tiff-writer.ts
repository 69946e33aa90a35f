// A minimal baseline TIFF writer for tests: little-endian, uncompressed, one strip, N samples a
// pixel of 8 or 16 bits (chunky), photometric MinIsBlack with the samples past the first marked as
// unspecified extra samples: how GDAL and rasterio write a multispectral band stack.
const SHORT = 3;
const LONG = 4;

export function encodeBandTiff(width: number, height: number, channels: number, samples: ArrayLike<number>, bits: 8 | 16): Uint8Array {
  const pixelBytes = width * height * channels * (bits / 8);
  if (samples.length !== width * height * channels) throw new Error(`encodeBandTiff: ${samples.length} samples for ${width}x${height}x${channels}`);
  const extra = channels - 1;
  // Arrays of more than two shorts live outside the tag: after the IFD, before the pixels.
  const tags: [number, number, number, number[]][] = [
    [256, SHORT, 1, [width]],
    [257, SHORT, 1, [height]],
    [258, SHORT, channels, new Array(channels).fill(bits)],
    [259, SHORT, 1, [1]],
    [262, SHORT, 1, [1]],
    [273, LONG, 1, [0]],
    [277, SHORT, 1, [channels]],
    [278, SHORT, 1, [height]],
    [279, LONG, 1, [pixelBytes]],
    [284, SHORT, 1, [1]],
  ];
  if (extra > 0) tags.push([338, SHORT, extra, new Array(extra).fill(0)]);
  const ifd = 8;
  let tail = ifd + 2 + tags.length * 12 + 4;
  const outside = new Map<number, number>();
  for (const [tag, , count] of tags) {
    if (count > 2) {
      outside.set(tag, tail);
      tail += count * 2;
    }
  }
  const pixels = tail;
  tags[5][3] = [pixels];
  const view = new DataView(new ArrayBuffer(pixels + pixelBytes));
  view.setUint16(0, 0x4949, true);
  view.setUint16(2, 42, true);
  view.setUint32(4, ifd, true);
  view.setUint16(ifd, tags.length, true);
  tags.forEach(([tag, type, count, values], i) => {
    const at = ifd + 2 + i * 12;
    view.setUint16(at, tag, true);
    view.setUint16(at + 2, type, true);
    view.setUint32(at + 4, count, true);
    const where = outside.get(tag);
    if (where !== undefined) {
      view.setUint32(at + 8, where, true);
      values.forEach((v, k) => view.setUint16(where + 2 * k, v, true));
    } else if (type === LONG) view.setUint32(at + 8, values[0], true);
    else values.forEach((v, k) => view.setUint16(at + 8 + 2 * k, v, true));
  });
  view.setUint32(ifd + 2 + tags.length * 12, 0, true);
  for (let i = 0; i < samples.length; i++) {
    if (bits === 8) view.setUint8(pixels + i, samples[i]);
    else view.setUint16(pixels + 2 * i, samples[i], true);
  }
  return new Uint8Array(view.buffer);
}
