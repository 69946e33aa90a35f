// The browser's stand-in for src/io/image-source.ts: `segment` given a string fetches that URL,
// given bytes decodes them with the browser's own decoders.
import type { RgbImage } from '../io/rgb-image.js';
import { decodeImageBytes } from './images.js';

export async function decodeImageSource(source: string | Uint8Array): Promise<RgbImage> {
  if (typeof source !== 'string') return decodeImageBytes(source);
  const response = await fetch(source);
  if (!response.ok) throw new Error(`${source}: HTTP ${response.status} ${response.statusText}`);
  return decodeImageBytes(await response.blob(), source);
}
