// PASCAL VOC 2012 segmentation: the 21 class names in index order and the standard colour map
// (the one the VOC ground-truth palette PNGs and the official devkit use).

export const VOC_CLASSES: readonly string[] = Object.freeze([
  'background',
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
]);

/** Label value VOC masks use for object boundaries and "difficult" regions: ignored by metrics. */
export const VOC_IGNORE_LABEL = 255;

/**
 * 256 RGB triples. The devkit's formula spreads the bits of the index over the channels,
 * most significant first: bit 3j of the index -> bit (7-j) of red, 3j+1 -> green, 3j+2 -> blue.
 * So 1 = (128,0,0), 2 = (0,128,0), 15 = (192,128,128) and 255 = (224,224,192).
 */
export const VOC_PALETTE: Uint8Array = (() => {
  const p = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    let r = 0;
    let g = 0;
    let b = 0;
    let c = i;
    for (let j = 0; j < 8; j++) {
      r |= (c & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    p[3 * i] = r;
    p[3 * i + 1] = g;
    p[3 * i + 2] = b;
  }
  return p;
})();
