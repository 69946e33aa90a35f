// '/'-separated paths without node:path (the browser has none): joining as Node's path.join does
// on POSIX, and the parts of a file name as path.extname and path.basename give them.

/** POSIX normalisation: '.' and empty segments dropped, '..' applied; '.' for nothing. */
export function normalisePath(path: string): string {
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue;
    if (s !== '..') out.push(s);
    else if (out.length && out[out.length - 1] !== '..') out.pop();
    else if (!absolute) out.push('..');
  }
  const body = out.join('/');
  return absolute ? `/${body}` : body || '.';
}

/** The segments joined with '/' and normalised, as path.posix.join. */
export function joinPath(...parts: string[]): string {
  return normalisePath(parts.filter((p) => p !== '').join('/') || '.');
}

/** The last segment of a path. */
export function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The extension of the path's last segment with its dot ('' when none; '.bashrc' has none), as path.extname. */
export function extName(path: string): string {
  const name = lastSegment(path);
  const dot = name.lastIndexOf('.');
  return dot <= 0 || name === '..' ? '' : name.slice(dot);
}

/** The last segment without its extension, as path.basename(path, path.extname(path)). */
export function fileStem(path: string): string {
  const name = lastSegment(path);
  return name.slice(0, name.length - extName(name).length);
}
