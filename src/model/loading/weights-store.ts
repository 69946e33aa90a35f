// Finds a registry model's weights on disk, downloading into a cache when needed.
//
// Order: $DEEPLAB_WEIGHTS_DIR (offline copies: tests and benchmarks point it at
// ../shared/weights), then the cache folder ($DEEPLAB_CACHE_DIR or the platform's: cache-dir.ts),
// then a download from the official address. Every file is checked against its sha256 (or the
// hash prefix in its name) before use; a download lands under a temporary name and is renamed
// only once verified, so a broken download never poisons the cache.
import { existsSync, mkdirSync, renameSync, rmSync, statSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { cacheDirectory } from '../../util/cache-dir.js';
import { readFlag } from '../../util/flags.js';
import { hashFile, sha256File } from '../../util/sha256.js';
import type { RegistryEntry } from './registry.js';

export { cacheDirectory };

/** Throws unless the file's size and hash match what the registry says. */
export async function verifyWeights(path: string, entry: RegistryEntry): Promise<void> {
  const bad = (what: string): never => {
    throw new Error(`${path}: ${what} for model ${entry.name}; the file is corrupt or not the published one (delete it and download again)`);
  };
  if (entry.sha384) {
    const actual = await hashFile(path, 'sha384');
    if (actual !== entry.sha384) bad(`sha384 ${actual} does not match ${entry.sha384}`);
  }
  if (entry.sha256 || entry.sha256Prefix) {
    const actual = await sha256File(path);
    const ok = entry.sha256 ? actual === entry.sha256 : actual.startsWith(entry.sha256Prefix!);
    if (!ok) bad(`sha256 ${actual} does not match ${entry.sha256 ?? entry.sha256Prefix + '...'}`);
  }
  if (entry.size !== undefined) {
    const size = statSync(path).size;
    if (size !== entry.size) bad(`${size} bytes, not the published ${entry.size}`);
  }
}

/** Throws unless a folder model's files are all there and match the sizes and hashes the registry gives. */
export async function verifyFolder(dir: string, entry: RegistryEntry): Promise<void> {
  for (const f of entry.files ?? []) {
    const path = join(dir, f.name);
    if (!existsSync(path)) throw new Error(`${dir}: no ${f.name} for model ${entry.name} (delete the folder and download again)`);
    await verifyWeights(path, { ...entry, sha256: f.sha256, sha256Prefix: undefined, sha384: undefined, size: f.size });
  }
}

/** A download that receives nothing for this long (while connecting, or between two chunks) is stopped. */
export const DOWNLOAD_STALL_MS = 30_000;

/** The message of a failed fetch: its cause's (ECONNREFUSED, a DNS failure) where it has one. */
const fetchFailure = (e: unknown): string => ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message;

/**
 * Streams `url` into `dest`. Every failure names the URL: no answer, an HTTP error, or a
 * connection that delivers nothing for `stallMs` (a stalled server or network never hangs a run).
 */
async function download(url: string, dest: string, stallMs: number, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const abort = new AbortController();
  // The caller's cancel stops the transfer as a stall does, and rejects with the caller's reason.
  const cancel = (): void => abort.abort();
  signal?.addEventListener('abort', cancel);
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(), stallMs);
  };
  const failed = (e: unknown): Error =>
    signal?.aborted
      ? (signal.reason as Error)
      : abort.signal.aborted
      ? new Error(`download of ${url} stopped: nothing received for ${stallMs / 1000} s (is the network up? the file can also be put in the cache by hand)`)
      : new Error(`download of ${url} failed: ${fetchFailure(e)}`, { cause: e });
  arm();
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: abort.signal });
    } catch (e) {
      throw failed(e);
    }
    if (!response.ok || !response.body) throw new Error(`download of ${url} failed: HTTP ${response.status}`);
    const total = Number(response.headers.get('content-length') ?? 0);
    const out = createWriteStream(dest);
    let done = 0;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        arm();
        done += chunk.length;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        onProgress?.(done, total);
      }
    } catch (e) {
      throw failed(e);
    } finally {
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', cancel);
  }
}

export interface ResolveOptions {
  /** Allow a download when no local copy exists (default true). */
  download?: boolean;
  onProgress?: (message: string) => void;
  /** How long a download may receive nothing before it stops (default DOWNLOAD_STALL_MS). */
  stallMs?: number;
  /** Cancels a download: the call rejects with the signal's reason, nothing left in the cache. */
  signal?: AbortSignal;
}

/** Streams one address into a file, reporting progress at most once a second. */
async function downloadReporting(url: string, dest: string, opts: ResolveOptions): Promise<void> {
  let lastReport = 0;
  await download(
    url,
    dest,
    opts.stallMs ?? DOWNLOAD_STALL_MS,
    (done, total) => {
      const now = Date.now();
      if (now - lastReport > 1000) {
        lastReport = now;
        opts.onProgress?.(`  ${(done / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ''} MB`);
      }
    },
    opts.signal,
  );
}

/**
 * A folder model (a hub repository): each file downloaded into a temporary folder and checked
 * where the registry has its size or hash, the folder renamed into the cache once complete.
 */
async function downloadFolder(entry: RegistryEntry, dirs: string[], opts: ResolveOptions): Promise<string> {
  const files = entry.files!;
  if (opts.download === false) throw new Error(`model ${entry.name}: ${entry.fileName} not found in ${dirs.join(' or ')}; download ${files.map((f) => f.url).join(', ')} into a folder of that name`);
  const cache = cacheDirectory();
  mkdirSync(cache, { recursive: true });
  const dest = join(cache, entry.fileName);
  const partial = `${dest}.partial-${process.pid}`;
  mkdirSync(partial, { recursive: true });
  try {
    for (const f of files) {
      opts.onProgress?.(`downloading ${f.url}`);
      try {
        await downloadReporting(f.url, join(partial, f.name), opts);
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        throw new Error(`${(e as Error).message}; fetch the files (${files.map((x) => x.name).join(', ')}) into a folder named ${entry.fileName} in the folder DEEPLAB_WEIGHTS_DIR names, or in ${cache}`, { cause: e });
      }
    }
    await verifyFolder(partial, entry);
    if (entry.note) opts.onProgress?.(`  ${entry.name}: ${entry.note}`);
    renameSync(partial, dest);
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    throw e;
  }
  return dest;
}

/** Path of a verified local copy of the model's weights. */
export async function resolveWeights(entry: RegistryEntry, opts: ResolveOptions = {}): Promise<string> {
  const dirs = [readFlag('DEEPLAB_WEIGHTS_DIR'), cacheDirectory()].filter((d): d is string => !!d);
  for (const dir of dirs) {
    // The published file first, then the equivalent folders the entry names (not hashed).
    for (const name of [entry.fileName, ...(entry.localCopies ?? [])]) {
      const path = join(dir, name);
      if (!existsSync(path)) continue;
      if (statSync(path).isFile()) await verifyWeights(path, entry);
      else if (entry.files && name === entry.fileName) await verifyFolder(path, entry);
      return path;
    }
  }
  if (entry.files) return downloadFolder(entry, dirs, opts);
  if (!entry.url) {
    throw new Error(
      `model ${entry.name}: no local copy of ${entry.fileName} in ${dirs.join(' or ')}, and it has no download address; ` +
        'set DEEPLAB_WEIGHTS_DIR to a folder that holds it',
    );
  }
  if (opts.download === false) throw new Error(`model ${entry.name}: ${entry.fileName} not found in ${dirs.join(' or ')}; download it from ${entry.url}`);
  const cache = cacheDirectory();
  mkdirSync(cache, { recursive: true });
  const dest = join(cache, entry.fileName);
  const partial = `${dest}.partial-${process.pid}`;
  opts.onProgress?.(`downloading ${entry.url}`);
  try {
    try {
      await downloadReporting(entry.url, partial, opts);
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      // Offline, or the host refused or stalled: say what to fetch and where to put it.
      throw new Error(`${(e as Error).message}; fetch that file and put it, named ${entry.fileName}, in the folder DEEPLAB_WEIGHTS_DIR names, or in ${cache}`, { cause: e });
    }
    await verifyWeights(partial, entry);
    if (!entry.sha256 && !entry.sha256Prefix && !entry.sha384) {
      // The TF zoo publishes no checksum for some tarballs: gzip's CRC and each bundle entry's
      // crc32c still catch a damaged file when it is read.
      opts.onProgress?.(`  ${entry.fileName} has no published checksum: its contents are checked by their own CRCs when read`);
    }
    renameSync(partial, dest);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
  return dest;
}
