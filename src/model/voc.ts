// PASCAL VOC 2012 segmentation: the 21 class names in index order and the standard colour map
// (the one the VOC ground-truth palette PNGs and the official devkit use).
import { excerpt } from '../io/reader-rules.js';

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

/** A model's classes: names in index order and the colour each is drawn with. */
export interface ClassSet {
  names: readonly string[];
  colors: readonly (readonly [number, number, number])[];
}

/** The classes of a model with `numClasses` outputs when its weights name none: VOC's for 21. */
export function defaultClassSet(numClasses: number): ClassSet {
  const names = numClasses === 21 ? VOC_CLASSES : Array.from({ length: numClasses }, (_, i) => `class ${i}`);
  const colors = names.map((_, i) => [VOC_PALETTE[3 * (i % 256)], VOC_PALETTE[3 * (i % 256) + 1], VOC_PALETTE[3 * (i % 256) + 2]] as const);
  return { names, colors };
}

/** Checks a class set read from a file: names and RGB colours, one each per class. */
export function validateClassSet(c: ClassSet, numClasses: number, what: string): ClassSet {
  if (!Array.isArray(c.names) || !Array.isArray(c.colors)) throw new Error(`${what}: classes need 'names' and 'colors' lists`);
  if (c.names.length !== numClasses) throw new Error(`${what}: ${c.names.length} class names for a model with ${numClasses} classes`);
  if (c.colors.length !== numClasses) throw new Error(`${what}: ${c.colors.length} class colours for a model with ${numClasses} classes`);
  c.colors.forEach((rgb, i) => {
    if (!Array.isArray(rgb) || rgb.length !== 3 || rgb.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
      throw new Error(`${what}: colour of class ${i} (${c.names[i]}) is not an RGB triple of 0..255: ${excerpt(rgb)}`);
    }
  });
  return c;
}

/**
 * The class colours as a full 256-entry PNG palette: the classes' own colours first, the VOC
 * map's after them (so a VOC model's palette is exactly the standard VOC colour map).
 */
export function classPalette(c: ClassSet): Uint8Array {
  const p = Uint8Array.from(VOC_PALETTE);
  p.set(c.colors.slice(0, 256).flat());
  return p;
}
