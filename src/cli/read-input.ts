// An input of `deeplab segment` decoded to RGB, or read as bands for a model that takes them: a local file, or an http(s) URL (a manifest's
// line) fetched whole first. A URL that fails names itself and what went wrong; it never hangs
// the run (nothing received for FETCH_STALL_MS stops it).
import type { BandArray } from '../io/band-image.js';
import { type RgbImage, decodeImage, readImage } from '../io/image.js';
import { bandsOf } from './band-options.js';
import { isUrl } from './segment-inputs.js';

const FETCH_STALL_MS = 30_000;
/** Larger answers are refused before they fill the memory (no image we decode is this big). */
const MAX_FETCH_BYTES = 512 * 2 ** 20;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(), FETCH_STALL_MS);
  };
  arm();
  try {
    const response = await fetch(url, { signal: abort.signal });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      arm();
      size += chunk.length;
      if (size > MAX_FETCH_BYTES) throw new Error(`more than ${MAX_FETCH_BYTES / 2 ** 20} MiB`);
      parts.push(chunk);
    }
    return Buffer.concat(parts);
  } catch (e) {
    const why = abort.signal.aborted ? `nothing received for ${FETCH_STALL_MS / 1000} s` : (((e as Error).cause as Error | undefined)?.message ?? (e as Error).message);
    throw new Error(`${url}: cannot fetch it: ${why}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

export async function readInput(source: string, bands = false): Promise<RgbImage | BandArray> {
  if (bands) return bandsOf(isUrl(source) ? await fetchBytes(source) : source, source);
  return isUrl(source) ? decodeImage(await fetchBytes(source), source) : readImage(source);
}
