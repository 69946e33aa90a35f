// File-name patterns, for inputs named by a pattern rather than listed one by one ('photos/*.jpg',
// 'data/**/*.png'), so a collection too large for a shell's argument list still fits one
// argument. The matching and the walk are isaacs' glob (Node 20 has no fs.glob): `*`, `?`,
// `[a-z]`, `[!a-z]`, `{a,b}`, `**` as a whole segment for any number of folders (none included),
// `\` taking the next character as itself. Names starting with a dot match only a pattern that
// starts with one, as in the shells. Here: glob's options, the order, and the pattern's fixed part.
import { join } from 'node:path';
import { Glob, hasMagic } from 'glob';

const OPTIONS = {
  // Files only: a folder a pattern names is not an image.
  nodir: true,
  // Into linked folders, as the CLI's folder walk goes; without it glob's `nodir` also lets a
  // link to a folder through as if it were a file.
  follow: true,
  // Case counts on every platform (glob's default ignores it on macOS and Windows): one pattern
  // takes the same files on every machine, so `--shard I/N` splits the same list everywhere.
  nocase: false,
} as const;

type Pattern = Glob<typeof OPTIONS>['patterns'][number];

/** Whether `text` is a pattern glob expands (braces included), not a plain path. */
export function isGlobPattern(text: string): boolean {
  return hasMagic(text, { ...OPTIONS, magicalBraces: true });
}

/**
 * The files matching `pattern`, sorted by path (code-unit order, the same on every machine).
 * `base` is the pattern's leading folders before the first part with a pattern character (those
 * every `{a,b}` expansion shares): the folder a match's relative path, its outputs' name, starts
 * from.
 */
export function expandGlob(pattern: string): { base: string; files: string[] } {
  const glob = new Glob(pattern, OPTIONS);
  const base = fixedFolder(glob.patterns);
  return { base, files: glob.walkSync().sort(compareCodeUnits) };
}

/**
 * The leading plain folders that every expansion of a pattern shares, as glob parsed them
 * (escapes taken out, `{a,b}` expanded), so no match's path below it starts with '..'.
 */
function fixedFolder(patterns: readonly Pattern[]): string {
  const lists = patterns.map((first) => {
    const parts: string[] = [];
    for (let p: Pattern | null = first; p?.hasMore() && p.isString(); p = p.rest()) parts.push(p.pattern() as string);
    return parts;
  });
  const [shared = []] = lists;
  const length = shared.findIndex((part, i) => lists.some((parts) => parts[i] !== part));
  return join(...(length < 0 ? shared : shared.slice(0, length)));
}

/** Sorts by UTF-16 code units, whatever the locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
