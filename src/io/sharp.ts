// sharp (libvips), Node's image decoder: a peer dependency a page-only install leaves out, so it
// is imported when the first image file is decoded.
import type sharpFunction from 'sharp';
import { importOptional } from '../util/optional-package.js';

export async function loadSharp(): Promise<typeof sharpFunction> {
  return (await importOptional('sharp', 'decoding image files in Node', () => import('sharp'))).default;
}
