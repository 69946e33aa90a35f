// A Hugging Face hub folder in the page (a transformers one, a transformers.js one, an smp one):
// its files dropped (a FileList or File[]), given as bytes by name, or fetched from a base URL
// ending in '/' (a local copy, or https://huggingface.co/<repo>/resolve/main/). Read whole into
// memory, then handed to the same folder formats as in Node (src/model/loading/formats/) through a
// FileSet.
import { bytesWithin } from '../io/reader-rules.js';
import type { FileSet } from '../model/loading/formats/format.js';
import { HUB_CONFIG, HUB_PROCESSOR, HUB_WEIGHTS } from '../model/loading/hub-model.js';
import { ONNX_SUBFOLDER, TRANSFORMERS_JS_DTYPES, TRANSFORMERS_JS_FILES, type TransformersJsDtype } from '../model/loading/transformers-js-model.js';

/** A hub folder's files: dropped Files, or bytes by file name. */
export type HubFiles = readonly File[] | FileList | ReadonlyMap<string, Uint8Array>;

export function isHubFiles(source: unknown): source is HubFiles {
  return source instanceof Map || Array.isArray(source) || (typeof FileList !== 'undefined' && source instanceof FileList);
}

/** A folder URL: one that ends in '/'. */
export function isFolderUrl(source: unknown): source is string | URL {
  return (typeof source === 'string' || source instanceof URL) && String(source).endsWith('/');
}

function fileSet(files: Map<string, Uint8Array>, what: string): FileSet {
  return {
    names: [...files.keys()],
    read(name, maxBytes) {
      const bytes = files.get(name);
      if (!bytes) throw new Error(`${what}: no ${name}`);
      return bytesWithin(bytes, maxBytes, `${what}/${name}`);
    },
    what,
  };
}

/** Dropped files or bytes by name as a FileSet (a File's name, without any folder part). */
export async function hubFileSet(source: HubFiles, what = 'hub folder'): Promise<FileSet> {
  const files = new Map<string, Uint8Array>();
  if (source instanceof Map) {
    for (const [name, bytes] of source) files.set(name, bytes);
  } else {
    for (const f of Array.from(source as ArrayLike<File>)) files.set(f.name.split('/').pop()!, new Uint8Array(await f.arrayBuffer()));
  }
  if (files.size === 0) throw new Error(`${what}: no files`);
  return fileSet(files, what);
}

/**
 * A model folder by its base URL: config.json, preprocessor_config.json where served (a
 * transformers folder has one; an smp folder has none), the first weights file served, else
 * transformers.js' ONNX file of `dtype` (onnx/model.onnx for fp32, the default). Given a `dtype`,
 * only the ONNX file is fetched; where it is not served, the dtypes that are (asked with HEAD)
 * are named.
 */
export async function fetchHubFolder(base: string | URL, fetcher: typeof fetch = fetch, dtype?: TransformersJsDtype): Promise<FileSet> {
  const root = String(base);
  if (dtype !== undefined && !TRANSFORMERS_JS_DTYPES.includes(dtype)) throw new Error(`${root}: dtype must be ${TRANSFORMERS_JS_DTYPES.map((d) => `'${d}'`).join(', ')}, got '${String(dtype)}'`);
  // A folder URL relative to the page ('/models/mine/') is resolved against the page's address.
  let absolute: URL;
  try {
    absolute = new URL(root, globalThis.location?.href);
  } catch {
    throw new Error(`${root}: not a URL the folder can be fetched from (a relative one needs a page's address to resolve it against)`);
  }
  const get = async (name: string): Promise<Uint8Array | null> => {
    let response: Response;
    try {
      response = await fetcher(new URL(name, absolute).href);
    } catch (e) {
      throw new Error(`${root}${name}: could not be fetched (${(e as Error).message})`, { cause: e });
    }
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`${root}${name}: could not be fetched (HTTP ${response.status} ${response.statusText})`);
    return new Uint8Array(await response.arrayBuffer());
  };
  const files = new Map<string, Uint8Array>();
  const config = await get(HUB_CONFIG);
  if (!config) throw new Error(`${root}: no ${HUB_CONFIG} (a hub folder holds ${HUB_CONFIG}, ${HUB_PROCESSOR} and ${HUB_WEIGHTS.join(' or ')}; an smp folder ${HUB_CONFIG} and model.safetensors)`);
  files.set(HUB_CONFIG, config);
  const processor = await get(HUB_PROCESSOR);
  if (processor) files.set(HUB_PROCESSOR, processor);
  const onnx = (d: TransformersJsDtype): string => `${ONNX_SUBFOLDER}/${TRANSFORMERS_JS_FILES[d]}`;
  for (const name of [...(dtype === undefined ? HUB_WEIGHTS : []), onnx(dtype ?? 'fp32')]) {
    const bytes = await get(name);
    if (bytes) {
      files.set(name, bytes);
      return fileSet(files, root);
    }
  }
  if (dtype === undefined) throw new Error(`${root}: neither ${[...HUB_WEIGHTS, onnx('fp32')].join(' nor ')} is served`);
  const served: string[] = [];
  for (const d of TRANSFORMERS_JS_DTYPES) {
    if (d === dtype) continue;
    const head = await fetcher(new URL(onnx(d), absolute).href, { method: 'HEAD' }).catch(() => null);
    if (head?.ok) served.push(`${d} (${onnx(d)})`);
  }
  throw new Error(`${root}: no ${onnx(dtype)} for dtype '${dtype}' (served: ${served.length ? served.join(', ') : 'no other ONNX file'})`);
}
