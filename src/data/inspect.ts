// A data set's summary for `deeplab data`: its format, image count and sizes, each class's
// pixels, the ignored pixels, and the problems found. Problems are collected, never thrown, so
// one pass lists them all; only a folder that cannot be opened at all is an error.
import { readImageSize } from '../io/image-size.js';
import { type CocoClasses, type Dataset, type DatasetFormat, openDataset } from './dataset.js';

export interface DataReport {
  format: DatasetFormat;
  split: string;
  images: number;
  /** Distinct image sizes, most common first. */
  sizes: { width: number; height: number; images: number }[];
  classes: { name: string; pixels: number }[];
  ignoredPixels: number;
  problems: string[];
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
      size = await readImageSize(item.imagePath);
      const k = `${size.width}x${size.height}`;
      const s = sizes.get(k) ?? { ...size, images: 0 };
      s.images++;
      sizes.set(k, s);
    } catch (e) {
      problems.push(`unreadable image: ${(e as Error).message}`);
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
  pixels.forEach((n, c) => {
    if (n === 0) problems.push(`class ${c} '${data.classes.names[c]}' has no pixels in split '${data.split}'`);
  });
  return {
    format: data.format,
    split: data.split,
    images: data.items.length,
    sizes: [...sizes.values()].sort((a, b) => b.images - a.images || a.width - b.width || a.height - b.height),
    classes: data.classes.names.map((name, c) => ({ name, pixels: pixels[c] })),
    ignoredPixels,
    problems,
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
  return lines.join('\n') + '\n';
}
