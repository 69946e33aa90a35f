// The images `deeplab segment` is given, as one ordered list: files, folders (every image below,
// in path order), patterns ('photos/**/*.jpg') and a manifest file (one path or URL per line).
// The order is fixed by what was given, never by the file system's, so `--shard I/N` picks the
// same inputs on every machine. Each input carries the name its outputs get under --out: a file's
// or URL's own name, or its path below the folder or the pattern's fixed part, so two photos
// called 0001.jpg in two folders do not collide.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { compareCodeUnits, expandGlob, isGlobPattern } from '../util/glob.js';
import { UsageError } from './args.js';

export interface SegmentInput {
  /** A file path or an http(s) URL, as given (a manifest's relative paths resolved against its folder). */
  source: string;
  /** The outputs' name under --out without extension: 'a' or 'sub/a'. */
  stem: string;
}

/** The image files a folder or pattern takes (a manifest or a named file may be anything). */
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif']);

export const isUrl = (text: string): boolean => /^https?:\/\//i.test(text);

const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());

const stemOf = (path: string): string => {
  const ext = extname(path);
  return ext ? path.slice(0, -ext.length) : path;
};

/** The name a URL's outputs get: the last segment of its path. */
function urlStem(url: string): string {
  let name = '';
  try {
    name = decodeURIComponent(basename(new URL(url).pathname));
  } catch {
    // not a URL that parses: its error comes when it is fetched
  }
  return stemOf(name) || 'image';
}

/** Every image file below `dir`, sorted by path, leaving out hidden names and the folder `skip`. */
function imagesBelow(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const path = join(d, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory() === true);
      if (isDir) {
        if (resolve(path) !== skip) walk(path);
      } else if (isImageName(e.name)) out.push(path);
    }
  };
  walk(dir);
  return out.sort(compareCodeUnits);
}

/** A manifest's entries: one per non-blank line, '#' starting a comment line. */
export function readManifest(path: string): SegmentInput[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--manifest ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'segment');
  }
  const folder = dirname(path);
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      if (isUrl(line)) return { source: line, stem: urlStem(line) };
      const source = isAbsolute(line) ? line : join(folder, line);
      return { source, stem: stemOf(basename(line)) };
    });
}

/**
 * The inputs named on the command line, in order: a file as itself, a folder as the images below
 * it, a pattern as the files it matches, a URL as itself; then the manifest's. An input given
 * twice (the same file by two routes) is taken once, where it first comes. Names that are
 * neither are refused together, before any work (`outDir` is left out of folder walks: a run
 * writing into the folder it reads never reads its own masks).
 */
export function collectInputs(args: readonly string[], manifest: string | undefined, outDir: string): SegmentInput[] {
  const inputs: SegmentInput[] = [];
  const problems: string[] = [];
  const skip = resolve(outDir);
  for (const arg of args) {
    if (isUrl(arg)) {
      inputs.push({ source: arg, stem: urlStem(arg) });
      continue;
    }
    const stat = statSync(arg, { throwIfNoEntry: false });
    if (stat?.isFile()) inputs.push({ source: arg, stem: stemOf(basename(arg)) });
    else if (stat?.isDirectory()) {
      const files = imagesBelow(arg, skip);
      if (files.length === 0) problems.push(`${arg}: a folder with no images (${[...IMAGE_EXTENSIONS].join(' ')})`);
      for (const f of files) inputs.push({ source: f, stem: stemOf(relative(arg, f)) });
    } else if (stat) problems.push(`${arg}: not a file`);
    else if (isGlobPattern(arg)) {
      const { base, files } = expandGlob(arg);
      const images = files.filter((f) => !resolve(f).startsWith(skip + sep));
      if (images.length === 0) problems.push(`${arg}: no file matches`);
      for (const f of images) inputs.push({ source: f, stem: stemOf(relative(base, f)) });
    } else problems.push(`${arg}: no such file`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '), 'segment');
  if (manifest !== undefined) inputs.push(...readManifest(manifest));
  const seen = new Set<string>();
  return inputs.filter((i) => {
    const key = isUrl(i.source) ? i.source : resolve(i.source);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
