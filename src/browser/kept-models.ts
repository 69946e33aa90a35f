// Taught models kept in the browser's storage by name: one of our checkpoints each, with what a
// list shows (its classes, when it was kept, its size, the model it was taught from), in the origin
// private file system under deeplab-webgpu/models/<name>/ (model.safetensors, then info.json: a
// model whose info is missing was not kept whole, and is not listed). Each file is written whole
// or not at all (opfs.ts); a quota too small is a StorageFullError naming the bytes needed and
// free, and a model kept before under the name stays as it was.
import { checkpointBytes } from '../model/checkpoint-bytes.js';
import { DeepLabModel } from '../model/model.js';
import { readSafetensors } from '../model/weights/import/safetensors.js';
import { type ExportedFile, type PageExportFormat, type PageTfliteOptions, exportModel } from './export-model.js';
import { type BrowserLoadOptions, loadModel } from './load.js';
import { hasOpfsEntry, opfsDirectory, readOpfsFile, removeOpfsEntry, writeOpfsFile } from './opfs.js';

/** Where kept models live in the origin private file system. */
export const KEPT_MODELS_DIR = 'deeplab-webgpu/models';
const MODEL_FILE = 'model.safetensors';
const INFO_FILE = 'info.json';

/** A kept model, as keptModels lists it. */
export interface KeptModel {
  name: string;
  classNames: string[];
  /** When it was kept (ISO 8601). */
  date: string;
  /** Its checkpoint's size in bytes. */
  bytes: number;
  /** The model it was taught from, where the keeper said. */
  base: string | null;
}

/** A model's name as a kept model's: 1-100 characters, no '/', '\', control character, '.' or '..'. */
function checkedName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 100 || /[/\\\u0000-\u001f\u007f]/.test(name) || name === '.' || name === '..') {
    throw new Error(`${what}: a kept model's name is 1-100 characters without '/', '\\' or control characters (and not '.' or '..'), got ${JSON.stringify(name)}`);
  }
  return name;
}

const modelsDir = (what: string, create = true): Promise<FileSystemDirectoryHandle> => opfsDirectory(KEPT_MODELS_DIR, what, create);

/** The directory of the kept model `name`, or an error naming it where there is none. */
async function keptDir(name: string, what: string): Promise<FileSystemDirectoryHandle> {
  try {
    return await (await modelsDir(what)).getDirectoryHandle(checkedName(name, what));
  } catch (e) {
    if ((e as DOMException).name === 'NotFoundError') throw new Error(`${what}: no kept model '${name}' in this browser`, { cause: e });
    throw e;
  }
}

/** The class names of a checkpoint's metadata. */
function classNamesOf(bytes: Uint8Array, what: string): string[] {
  const { metadata } = readSafetensors(bytes, what);
  const names = (JSON.parse(metadata.classes ?? '{}') as { names?: unknown }).names;
  if (!Array.isArray(names)) throw new Error(`${what}: not one of our checkpoints (no class list in its metadata)`);
  return names.map(String);
}

/**
 * Keeps `source` (a model as it is on the GPU, or one of our checkpoints' bytes) under `name`,
 * replacing a model kept under that name; `base` is the model it was taught from, for the list.
 */
export async function keepModel(source: DeepLabModel | Uint8Array, o: { name: string; base?: string }): Promise<KeptModel> {
  const what = 'keepModel';
  const name = checkedName(o?.name, what);
  const bytes = source instanceof DeepLabModel ? await checkpointBytes(source) : source;
  if (!(bytes instanceof Uint8Array)) throw new Error(`${what}: keeps a DeepLabModel or a checkpoint's bytes (a Uint8Array)`);
  const info: KeptModel = { name, classNames: classNamesOf(bytes, `${what}: ${name}`), date: new Date().toISOString(), bytes: bytes.byteLength, base: o.base ?? null };
  const parent = await modelsDir(what);
  const existed = await hasOpfsEntry(parent, name, 'directory');
  const dir = await parent.getDirectoryHandle(name, { create: true });
  const where = `${what}: OPFS ${KEPT_MODELS_DIR}/${name}`;
  try {
    await writeOpfsFile(dir, MODEL_FILE, bytes, `${where}/${MODEL_FILE}`);
    await writeOpfsFile(dir, INFO_FILE, new TextEncoder().encode(JSON.stringify(info)), `${where}/${INFO_FILE}`);
  } catch (e) {
    if (!existed) await removeOpfsEntry(parent, name).catch(() => undefined);
    throw e;
  }
  return info;
}

/** The kept models, by name. */
export async function keptModels(): Promise<KeptModel[]> {
  const parent = await modelsDir('keptModels');
  const kept: KeptModel[] = [];
  for await (const handle of (parent as unknown as { values(): AsyncIterable<FileSystemHandle> }).values()) {
    if (handle.kind !== 'directory') continue;
    const info = await readOpfsFile(handle as FileSystemDirectoryHandle, INFO_FILE);
    if (!info) continue;
    try {
      kept.push(JSON.parse(new TextDecoder().decode(info)) as KeptModel);
    } catch {
      // A damaged info file: the model is not listed (deleteKeptModel still removes it).
    }
  }
  return kept.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The kept model's checkpoint bytes. */
export async function keptModelBytes(name: string): Promise<Uint8Array> {
  const bytes = await readOpfsFile(await keptDir(name, 'keptModelBytes'), MODEL_FILE);
  if (!bytes) throw new Error(`keptModelBytes: the kept model '${name}' has no weights (it was not kept whole): delete it`);
  return bytes;
}

/** Loads the kept model `name` (loadModel's options; its name by default). */
export async function loadKeptModel(name: string, opts: BrowserLoadOptions = {}): Promise<DeepLabModel> {
  return loadModel(await keptModelBytes(name), { name, ...opts });
}

/** The kept model `name` in `format` (exportModel, `tflite` its TF Lite options), to offer as a download; its file is named after the kept name. */
export async function exportKeptModel(name: string, format: PageExportFormat, tflite?: PageTfliteOptions): Promise<ExportedFile> {
  return exportModel(await keptModelBytes(name), format, { name, ...(tflite ? { tflite } : {}) });
}

/** Removes the kept model `name`. */
export async function deleteKeptModel(name: string): Promise<void> {
  await keptDir(name, 'deleteKeptModel');
  await removeOpfsEntry(await modelsDir('deleteKeptModel'), name);
}

/**
 * Asks the browser to keep this site's storage (kept models, checkpoints) until the user clears it,
 * rather than clearing it under storage pressure (navigator.storage.persist()): whether it is
 * persistent now, and whether the browser was asked (not where it already was, or cannot say).
 */
export async function persistStorage(): Promise<{ persisted: boolean; asked: boolean }> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  if (typeof storage?.persist !== 'function') return { persisted: false, asked: false };
  if (await storage.persisted()) return { persisted: true, asked: false };
  return { persisted: await storage.persist(), asked: true };
}
