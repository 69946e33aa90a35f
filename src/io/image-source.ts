// Where `segment` gets pixels from when it is given a path or encoded bytes: in Node, files and
// the Node decoder (image.ts). The browser bundle replaces this module with
// src/browser/image-source.ts (a URL fetched, bytes decoded by the browser's own decoders); it
// is the one place where images come in differently.
import { decodeImage, readImage } from './image.js';
import type { RgbImage } from './rgb-image.js';

/** A path (Node) or URL (browser), or the bytes of an encoded image, decoded to RGB. */
export async function decodeImageSource(source: string | Uint8Array): Promise<RgbImage> {
  return typeof source === 'string' ? readImage(source) : decodeImage(source);
}
