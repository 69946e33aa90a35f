// A tiny COCO data set (polygons, uncompressed and compressed RLE, an overlapping pair, crowd
// regions) and the masks it must give, for the COCO tests and the file-access tests.
import { join } from 'node:path';
import { writeJson, writePhoto } from './tiny-datasets.js';

/**
 * COCO's compressed RLE string, written here from the format's description (not from the reader):
 * from the fourth count on, the difference to the count two before; each number in 5-bit groups,
 * least significant first, bit 0x20 = another group follows, bit 0x10 of the last = the sign;
 * each group as the character 48 + group.
 */
export function encodeRle(counts: number[]): string {
  let text = '';
  counts.forEach((count, i) => {
    let x = i > 2 ? count - counts[i - 2] : count;
    for (;;) {
      let group = x & 0x1f;
      x >>= 5; // arithmetic: a negative number stays negative
      const more = group & 0x10 ? x !== -1 : x !== 0;
      if (more) group |= 0x20;
      text += String.fromCharCode(48 + group);
      if (!more) break;
    }
  });
  return text;
}

/** The 20 VOC categories as COCO names them, and one other (listed out of id order). */
export const CATEGORIES = [
  [90, 'toothbrush'], [18, 'dog'], [1, 'person'], [3, 'car'], [2, 'bicycle'], [4, 'motorcycle'], [5, 'airplane'],
  [6, 'bus'], [7, 'train'], [9, 'boat'], [16, 'bird'], [17, 'cat'], [19, 'horse'], [20, 'sheep'], [21, 'cow'],
  [44, 'bottle'], [62, 'chair'], [63, 'couch'], [64, 'potted plant'], [67, 'dining table'], [72, 'tv'],
].map(([id, name]) => ({ id, name, supercategory: 'x' }));
export const PERSON = 1;
export const CAR = 3;
export const DOG = 18;
export const TOOTHBRUSH = 90;

/** Class ids with the file's categories (by id: person 1, car 3, dog 11, toothbrush 21) and with VOC's. */
export const FILE = { person: 1, car: 3, dog: 11, toothbrush: 21 };
export const VOC = { person: 15, car: 7, dog: 12, toothbrush: 0 };
export const X = 255;

export const ann = (id: number, image: number, category: number, segmentation: unknown, iscrowd = 0): object => ({
  id,
  image_id: image,
  category_id: category,
  segmentation,
  iscrowd,
  area: 1,
  bbox: [0, 0, 1, 1],
});

/** Image 1 (4x3): a person square, a car column (RLE), a car square overlapping the person at (1,1). */
export const IMAGE1 = [
  ann(10, 1, PERSON, [[0, 0, 2, 0, 2, 2, 0, 2]]),
  ann(11, 1, CAR, { counts: [9, 3], size: [3, 4] }), // column-major: the last column
  ann(12, 1, CAR, [[1, 1, 3, 1, 3, 3, 1, 3]]),
];
export const mask1 = (c: typeof FILE): number[] => [c.person, c.person, 0, c.car, c.person, X, c.car, c.car, 0, c.car, c.car, c.car];

/**
 * Image 2 (3x2): a dog as a compressed RLE (column-major pixels 0, 1, 5: x0 both rows and (2,1)),
 * a crowd toothbrush at (1,0) and a crowd person at (1,1) and (2,1), over the dog there.
 */
export const IMAGE2 = [
  ann(20, 2, DOG, { counts: encodeRle([0, 2, 3, 1]), size: [2, 3] }),
  ann(21, 2, TOOTHBRUSH, { counts: [2, 1, 3], size: [2, 3] }, 1),
  ann(22, 2, PERSON, { counts: [3, 1, 1, 1], size: [2, 3] }, 1),
];
export const mask2 = (c: typeof FILE): number[] => [c.dog, c.toothbrush, 0, c.dog, c.person, X];

/** Image 3 (5x4): one person of three polygons: a triangle (centres with x + y <= 3), a unit square at (4,3), a two-point line (no pixel). */
export const IMAGE3 = [ann(30, 3, PERSON, [[0, 0, 4.5, 0, 0, 4.5], [4, 3, 5, 3, 5, 4, 4, 4], [0, 0, 3, 3]])];
export const mask3 = (c: typeof FILE): number[] => {
  const p = c.person;
  return [p, p, p, p, 0, p, p, p, 0, 0, p, p, 0, 0, 0, p, 0, 0, 0, p];
};

export const IMAGES = [
  { id: 3, file_name: 'c.png', width: 5, height: 4 },
  { id: 1, file_name: 'a.png', width: 4, height: 3 },
  { id: 2, file_name: 'b.jpg', width: 3, height: 2 },
];

export async function tinyCoco(dir: string): Promise<void> {
  writeJson(join(dir, 'annotations', 'instances_val2017.json'), {
    info: {},
    images: IMAGES,
    annotations: [...IMAGE2, ...IMAGE1, ...IMAGE3],
    categories: CATEGORIES,
  });
  for (const im of IMAGES) await writePhoto(join(dir, 'val2017', im.file_name), im.width, im.height);
  // A second split, one image without annotations: all background.
  writeJson(join(dir, 'annotations', 'instances_train2017.json'), { images: [{ id: 7, file_name: 'z.png', width: 2, height: 1 }], annotations: [], categories: CATEGORIES });
  await writePhoto(join(dir, 'train2017', 'z.png'), 2, 1);
}
