// A data set's summary for `deeplab data`: its format, image count and sizes, each class's
// pixels, the ignored pixels, and what is wrong. Every image is decoded whole and every label read
// as training reads them, so what training would stop on is found here: those are the problems
// (errors); what training runs with but a user may want to know (a class with no pixels in the
// split, normal in a small one) are warnings. Both are collected, never thrown, so one pass lists
// them all; only a folder that cannot be opened at all is an error.
import { readImage } from '../io/image.js';
import { type CocoClasses, type Dataset, type DatasetFormat, openDataset } from './dataset.js';

export interface DataReport {
  format: DatasetFormat;
  split: string;
  images: number;
  /** Distinct image sizes, most common first. */
  sizes: { width: number; height: number; images: number }[];
  classes: { name: string; pixels: number }[];
  ignoredPixels: number;
  /** What training would stop on: unreadable images and labels, labels not of their image's size. */
  problems: string[];
  /** What training runs with: classes with no pixels in the split. */
  warnings: string[];
}

export interface InspectOptions {
  format?: DatasetFormat;
  /** The classes of a coco data set ('file' by default). */
  cocoClasses?: CocoClasses;
  /** Called after each image (i counts from 1). */
  onImage?: (i: number, n: number) => void;
}

export async function inspectDataset(dir: string, split: string, o: InspectOptions = {}): Promise<DataReport> {
  const data = openDataset(dir, split, { format: o.format, cocoClasses: o.cocoClasses });
  return inspectOpened(data, o.onImage);
}

export async function inspectOpened(data: Dataset, onImage?: (i: number, n: number) => void): Promise<DataReport> {
  const C = data.classes.names.length;
  const pixels = new Array<number>(C).fill(0);
  let ignoredPixels = 0;
  const problems: string[] = [];
  const sizes = new Map<string, { width: number; height: number; images: number }>();
  for (const [i, item] of data.items.entries()) {
    let size: { width: number; height: number } | undefined;
    try {
      // Decoded whole, as training decodes it: a header can be intact where the data is cut short.
      const image = await readImage(item.imagePath);
      size = { width: image.width, height: image.height };
      const k = `${size.width}x${size.height}`;
      const s = sizes.get(k) ?? { ...size, images: 0 };
      s.images++;
      sizes.set(k, s);
    } catch (e) {
      const message = (e as Error).message;
      problems.push(`unreadable image: ${message.includes(item.imagePath) ? message : `${item.imagePath}: ${message}`}`);
    }
    try {
      const label = data.readLabel(item.labelPath);
      for (const v of label.indices) {
        if (v < C) pixels[v]++;
        else ignoredPixels++; // readLabel lets through only classes and the ignore index
      }
      if (size && (label.width !== size.width || label.height !== size.height)) {
        problems.push(`${item.labelPath}: the label is ${label.width}x${label.height} but its image ${item.imagePath} is ${size.width}x${size.height}`);
      }
    } catch (e) {
      problems.push((e as Error).message);
    }
    onImage?.(i + 1, data.items.length);
  }
  const warnings: string[] = [];
  pixels.forEach((n, c) => {
    if (n === 0) warnings.push(`class ${c} '${data.classes.names[c]}' has no pixels in split '${data.split}'`);
  });
  return {
    format: data.format,
    split: data.split,
    images: data.items.length,
    sizes: [...sizes.values()].sort((a, b) => b.images - a.images || a.width - b.width || a.height - b.height),
    classes: data.classes.names.map((name, c) => ({ name, pixels: pixels[c] })),
    ignoredPixels,
    problems,
    warnings,
  };
}

function percent(n: number, total: number): string {
  return `${total ? ((100 * n) / total).toFixed(2) : '0.00'} %`;
}

/** The report as the text `deeplab data` prints. */
export function formatReport(r: DataReport, dir: string): string {
  const total = r.classes.reduce((s, c) => s + c.pixels, 0) + r.ignoredPixels;
  const width = Math.max(...r.classes.map((c) => c.name.length), 'ignored'.length);
  const lines = [
    `${dir}: format ${r.format}, split ${r.split}, ${r.images} image${r.images === 1 ? '' : 's'}`,
    `sizes: ${r.sizes.map((s) => `${s.width}x${s.height} (${s.images})`).join(', ') || 'none readable'}`,
    `pixels by class (share of all ${total} label pixels):`,
    ...r.classes.map((c) => `  ${c.name.padEnd(width)}  ${percent(c.pixels, total).padStart(8)}  ${c.pixels}`),
    `  ${'ignored'.padEnd(width)}  ${percent(r.ignoredPixels, total).padStart(8)}  ${r.ignoredPixels}`,
  ];
  if (r.problems.length) lines.push(`${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}:`, ...r.problems.map((p) => `  - ${p}`));
  else lines.push('no problems found');
  if (r.warnings.length) lines.push(`${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}:`, ...r.warnings.map((w) => `  - ${w}`));
  return lines.join('\n') + '\n';
}
