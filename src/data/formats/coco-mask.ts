// A COCO image's semantic mask, rendered from its annotations when its label is read (on the
// main thread or a loader worker alike: the decoding below is plain data and the item's label
// reference names the annotations file and the image).
//
// The merge follows torchvision's COCO segmentation reference (references/segmentation/
// coco_utils.py: FilterAndRemapCocoCategories, then ConvertCocoPolysToMask): annotations of
// categories without a class are dropped first; each remaining annotation becomes one instance
// mask (the union of its polygons, or its RLE); a pixel covered by exactly one instance takes its
// class, a pixel covered by two or more instances is ignored (255, "discard overlapping
// instances", whatever their classes), and an uncovered pixel is background 0. That reference
// does not look at `iscrowd`: crowd regions are instances like the others, and so they are here.
// The instance masks themselves differ from pycocotools' along polygon edges (coco-polygon.ts).
import type { FileAccess } from '../files/file-access.js';
import { type CocoAnnotation, type CocoImage, readCocoFile } from './coco-file.js';
import { fillPolygon } from './coco-polygon.js';
import { decodeRleString, fillRle } from './coco-rle.js';
import type { Label } from './label.js';

export interface CocoDecoding {
  kind: 'coco';
  /** Class count, background 0 included. */
  classes: number;
  ignoreIndex: number;
  /** [COCO category id, class id] of each category with a class; others are dropped (background). */
  categoryClasses: [number, number][];
}

/** An item's label reference: `<annotations file>#<image id>`. */
export function cocoLabelRef(annotationsPath: string, imageId: number): string {
  return `${annotationsPath}#${imageId}`;
}

function parseRef(ref: string): { path: string; imageId: number } {
  const hash = ref.lastIndexOf('#');
  const imageId = Number(ref.slice(hash + 1));
  if (hash < 0 || ref.slice(hash + 1) === '' || !Number.isSafeInteger(imageId)) {
    throw new Error(`${ref}: not a COCO label reference (<annotations file>#<image id>)`);
  }
  return { path: ref.slice(0, hash), imageId };
}

/** One annotation's instance mask (row-major, 1 inside); malformed segmentations are errors. */
function instanceMask(segmentation: unknown, image: CocoImage): Uint8Array {
  const { width, height } = image;
  const mask = new Uint8Array(width * height);
  if (Array.isArray(segmentation)) {
    for (const [i, polygon] of segmentation.entries()) {
      if (!Array.isArray(polygon) || polygon.length % 2 !== 0 || !polygon.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new Error(`polygon ${i} of the segmentation is not an even-length list of numbers [x1, y1, x2, y2, ...]`);
      }
      fillPolygon(polygon as number[], width, height, mask);
    }
    return mask;
  }
  if (typeof segmentation === 'object' && segmentation !== null && 'counts' in segmentation && 'size' in segmentation) {
    const { counts, size } = segmentation as { counts: unknown; size: unknown };
    if (!Array.isArray(size) || size.length !== 2 || size[0] !== height || size[1] !== width) {
      throw new Error(`RLE size ${JSON.stringify(size)} is not the image's [height, width] = [${height}, ${width}]`);
    }
    let runs: number[];
    if (typeof counts === 'string') runs = decodeRleString(counts);
    else if (Array.isArray(counts) && counts.every((v) => typeof v === 'number')) runs = counts as number[];
    else throw new Error('RLE counts are neither a list of numbers nor a compressed string');
    fillRle(runs, height, width, mask);
    return mask;
  }
  throw new Error('the segmentation is neither a list of polygons nor an RLE {counts, size}');
}

/** The semantic mask of the image `ref` names, as class ids and the ignore index. */
export function readCocoLabel(files: FileAccess, ref: string, d: CocoDecoding): Label {
  const { path, imageId } = parseRef(ref);
  const file = readCocoFile(files, path);
  const image = file.imageById.get(imageId);
  if (!image) throw new Error(`${path}: no image with id ${imageId}`);
  const classOf = new Map(d.categoryClasses);
  const n = image.width * image.height;
  const cover = new Uint8Array(n); // instances over each pixel, counted up to 2
  const cls = new Uint8Array(n);
  const annotations: CocoAnnotation[] = file.annotationsByImage.get(imageId) ?? [];
  for (const a of annotations) {
    const c = classOf.get(a.categoryId);
    if (c === undefined) continue;
    let mask: Uint8Array;
    try {
      mask = instanceMask(a.segmentation, image);
    } catch (e) {
      throw new Error(`${path}: annotation ${a.id} (image ${imageId}): ${(e as Error).message}`);
    }
    for (let p = 0; p < n; p++) {
      if (mask[p] === 0) continue;
      if (cover[p] < 2) cover[p]++;
      cls[p] = c;
    }
  }
  const indices = new Uint8Array(n);
  for (let p = 0; p < n; p++) indices[p] = cover[p] === 0 ? 0 : cover[p] === 1 ? cls[p] : d.ignoreIndex;
  return { width: image.width, height: image.height, indices };
}
