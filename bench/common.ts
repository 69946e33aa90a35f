// What the benchmark scripts share: strict argument parsing, the median, tables and reports.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface BenchArgs {
  has(flag: string): boolean;
  value(flag: string): string | undefined;
  /** A non-negative integer option, or `dflt` when absent. */
  count(flag: string, dflt: number): number;
  /** A positive number option (fractions allowed), or undefined when absent. */
  positive(flag: string): number | undefined;
}

/**
 * Parses `argv` with Node's util.parseArgs (`--out x` and `--out=x` alike): `flags` take no value,
 * `withValue` options one; anything else is an error naming `bench`.
 */
export function benchArgs(bench: string, argv: string[], flags: string[], withValue: string[]): BenchArgs {
  const known = [...flags, ...withValue];
  const options: Record<string, { type: 'boolean' | 'string' }> = {};
  for (const f of flags) options[f.replace(/^--/, '')] = { type: 'boolean' };
  for (const f of withValue) options[f.replace(/^--/, '')] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new Error(`${bench}: ${(e as Error).message.replace(/\s*\n/g, ' ')} (known: ${known.join(' ')})`);
  }
  const value = (flag: string): string | undefined => values[flag.replace(/^--/, '')] as string | undefined;
  return {
    has: (flag) => values[flag.replace(/^--/, '')] === true,
    value,
    count: (flag, dflt) => {
      const text = value(flag);
      const v = text === undefined ? dflt : Number(text);
      if (!Number.isInteger(v) || v < 0 || text?.trim() === '') throw new Error(`${bench}: ${flag} must be a non-negative integer, got '${text}'`);
      return v;
    },
    positive: (flag) => {
      const text = value(flag);
      if (text === undefined) return undefined;
      const v = Number(text);
      if (!(Number.isFinite(v) && v > 0) || text.trim() === '') throw new Error(`${bench}: ${flag} must be a positive number, got '${text}'`);
      return v;
    },
  };
}

/**
 * The items named in a comma-separated list (all when `list` is absent), in `all`'s order or,
 * with `givenOrder`, in the list's; unknown names are an error.
 */
export function pickByName<T>(bench: string, what: string, list: string | undefined, all: readonly T[], nameOf: (t: T) => string, givenOrder = false): T[] {
  if (!list) return [...all];
  const names = list.split(',');
  const unknown = names.filter((n) => !all.some((t) => nameOf(t) === n));
  if (unknown.length) throw new Error(`${bench}: unknown ${what} ${unknown.join(', ')}; choose from ${all.map(nameOf).join(', ')}`);
  return givenOrder ? [...new Set(names)].map((n) => all.find((t) => nameOf(t) === n)!) : all.filter((t) => names.includes(nameOf(t)));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Writes a JSON report (folders made as needed) and says where: compact, as bench/results keeps them (each call of the device plan carries them). */
export function writeReport(out: string, report: unknown): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report) + '\n');
  console.log(`\nwrote ${relative(process.cwd(), out) || out}`);
}

/** Runs `main` when the module at `url` is the script node was started with; errors exit 1. */
export function runIfMain(url: string, main: () => Promise<void>): void {
  if (!process.argv[1] || url !== pathToFileURL(process.argv[1]).href) return;
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
