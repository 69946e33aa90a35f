// The class sets a COCO data set is read with (--coco-classes): the file's categories, or
// torchvision's 21-class VOC subset (coco.ts says how each is made).
export const COCO_CLASS_SETS = ['file', 'voc'] as const;
export type CocoClasses = (typeof COCO_CLASS_SETS)[number];

export function isCocoClasses(text: string): text is CocoClasses {
  return (COCO_CLASS_SETS as readonly string[]).includes(text);
}
