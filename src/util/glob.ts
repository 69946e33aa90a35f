// File-name patterns, for inputs named by a pattern rather than listed one by one ('photos/*.jpg',
// 'data/**/*.png'), so a collection too large for a shell's argument list still fits one
// argument. `*` and `?` match within a name, `[abc]` / `[a-z]` / `[!a-z]` one character of a
// set, `**` as a whole segment any number of folders (none included). Names starting with a dot
// match only a pattern that starts with one, as in the shells. Node 20 has no fs.glob.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SPECIAL = /[*?[]/;

/** Whether `text` holds a pattern character (and so is a pattern, not a plain path). */
export function isGlobPattern(text: string): boolean {
  return SPECIAL.test(text);
}

/** The regular expression matching one name for one pattern segment. */
function segmentRegex(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) {
        source += '\\[';
        continue;
      }
      let set = segment.slice(i + 1, end);
      const negated = set.startsWith('!') || set.startsWith('^');
      if (negated) set = set.slice(1);
      source += `[${negated ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

interface Entry {
  name: string;
  dir: boolean;
}

function list(dir: string): Entry[] {
  try {
    return readdirSync(dir || '.', { withFileTypes: true }).map((e) => ({ name: e.name, dir: e.isDirectory() || (e.isSymbolicLink() && isDirectory(join(dir || '.', e.name))) }));
  } catch {
    return []; // not a folder, or unreadable: nothing matches under it
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The files matching `pattern`, sorted by path (code-unit order, the same on every machine).
 * `base` is the pattern's leading folders before the first segment with a pattern character:
 * the folder a match's relative path starts from.
 */
export function expandGlob(pattern: string): { base: string; files: string[] } {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s) => s !== '' && s !== '.');
  const firstPattern = segments.findIndex((s) => isGlobPattern(s));
  const fixed = firstPattern < 0 ? segments : segments.slice(0, firstPattern);
  const base = (absolute ? '/' : '') + fixed.join('/');
  const rest = firstPattern < 0 ? [] : segments.slice(firstPattern);
  const found = new Set<string>();
  const walk = (dir: string, at: number): void => {
    const segment = rest[at];
    const last = at === rest.length - 1;
    if (segment === '**') {
      if (last) {
        // A trailing '**' matches every file below.
        for (const e of list(dir)) {
          if (e.name.startsWith('.')) continue;
          const path = dir ? join(dir, e.name) : e.name;
          if (e.dir) walk(path, at);
          else found.add(path);
        }
        return;
      }
      walk(dir, at + 1); // none
      for (const e of list(dir)) if (e.dir && !e.name.startsWith('.')) walk(dir ? join(dir, e.name) : e.name, at);
      return;
    }
    const re = segmentRegex(segment);
    for (const e of list(dir)) {
      if (e.name.startsWith('.') && !segment.startsWith('.')) continue;
      if (!re.test(e.name)) continue;
      const path = dir ? join(dir, e.name) : e.name;
      if (last && !e.dir) found.add(path);
      if (!last && e.dir) walk(path, at + 1);
    }
  };
  if (rest.length > 0) walk(base, 0);
  return { base: base || '.', files: [...found].sort(compareCodeUnits) };
}

/** Sorts by UTF-16 code units, whatever the locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
