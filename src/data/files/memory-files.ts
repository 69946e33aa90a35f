// File access to files held in memory, by path: a folder dropped into a page (each file a Blob,
// read into bytes when it is needed: load()) or bytes given directly. Folders are implied by the
// files' paths. Paths are '/'-separated and normalised as path.join normalises them, so a reader
// opening a folder here sees the same paths, and gives the same errors, as on disk.
import type { FileAccess } from './file-access.js';
import { joinPath, normalisePath } from './paths.js';

export type FileData = Uint8Array | Blob;

interface Entry {
  data: FileData;
  /** Told apart from any other entry's, for caches. */
  serial: number;
}

let serials = 0;

function parentOf(path: string): string | undefined {
  if (path === '.' || path === '/') return undefined;
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '.' : slash === 0 ? '/' : path.slice(0, slash);
}

export class MemoryFiles implements FileAccess {
  private readonly files = new Map<string, Entry>();
  private readonly folders = new Map<string, Set<string>>();

  constructor(entries: Iterable<readonly [string, FileData]> = []) {
    for (const [path, data] of entries) this.add(path, data);
  }

  /** Adds (or replaces) the file at `path`; its folders come with it. */
  add(path: string, data: FileData): void {
    const p = normalisePath(path);
    if (parentOf(p) === undefined || this.folders.has(p)) throw new Error(`${path}: a folder, not a file`);
    for (let child = p, parent = parentOf(p); parent !== undefined; child = parent, parent = parentOf(parent)) {
      if (this.files.has(parent)) throw new Error(`${path}: ${parent} is a file, not a folder`);
      const names = this.folders.get(parent) ?? new Set<string>();
      names.add(child.slice(child.lastIndexOf('/') + 1));
      this.folders.set(parent, names);
    }
    this.files.set(p, { data, serial: ++serials });
  }

  /** Every file's path (normalised), in the order added. */
  paths(): string[] {
    return [...this.files.keys()];
  }

  /** The file's content as given (bytes, or a Blob not read yet). */
  data(path: string): FileData {
    return this.entry(path).data;
  }

  /** Reads a Blob file into bytes, so readBytes can give them. */
  async load(path: string): Promise<void> {
    const e = this.entry(path);
    if (!(e.data instanceof Uint8Array)) e.data = new Uint8Array(await e.data.arrayBuffer());
  }

  join(...parts: string[]): string {
    return joinPath(...parts);
  }

  exists(path: string): boolean {
    const p = normalisePath(path);
    return this.files.has(p) || this.folders.has(p);
  }

  isDir(path: string): boolean {
    return this.folders.has(normalisePath(path));
  }

  list(path: string): string[] {
    const names = this.folders.get(normalisePath(path));
    if (!names) throw new Error(`${path}: no such folder${this.files.has(normalisePath(path)) ? ' (it is a file)' : ''}`);
    return [...names];
  }

  readBytes(path: string): Uint8Array {
    const { data } = this.entry(path);
    if (!(data instanceof Uint8Array)) throw new Error(`${path}: not read into memory (MemoryFiles.load it first)`);
    return data;
  }

  readText(path: string): string {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(this.readBytes(path));
  }

  version(path: string): { key: string; version: string } {
    return { key: normalisePath(path), version: String(this.entry(path).serial) };
  }

  private entry(path: string): Entry {
    const e = this.files.get(normalisePath(path));
    if (!e) throw new Error(`${path}: no such file${this.folders.has(normalisePath(path)) ? ' (it is a folder)' : ''}`);
    return e;
  }
}
