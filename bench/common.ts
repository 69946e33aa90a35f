// What the benchmark scripts share: strict argument parsing, the median, tables and reports.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchArgs {
  has(flag: string): boolean;
  value(flag: string): string | undefined;
  /** A non-negative integer option, or `dflt` when absent. */
  count(flag: string, dflt: number): number;
}

/** Parses `argv` for flags and options with values; anything else is an error naming `bench`. */
export function benchArgs(bench: string, argv: string[], flags: string[], withValue: string[]): BenchArgs {
  const known = [...flags, ...withValue];
  argv.forEach((a, i) => {
    if (a.startsWith('--') && !known.includes(a)) throw new Error(`${bench}: unknown option ${a} (known: ${known.join(' ')})`);
    if (!a.startsWith('--') && !withValue.includes(argv[i - 1])) throw new Error(`${bench}: unexpected argument ${a}`);
  });
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${bench}: ${flag} needs a value`);
    return v;
  };
  return {
    has: (flag) => argv.includes(flag),
    value,
    count: (flag, dflt) => {
      const v = Number(value(flag) ?? dflt);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${bench}: ${flag} must be a non-negative integer`);
      return v;
    },
  };
}

/** The items named in a comma-separated list (all when `list` is absent); unknown names are an error. */
export function pickByName<T>(bench: string, what: string, list: string | undefined, all: readonly T[], nameOf: (t: T) => string): T[] {
  if (!list) return [...all];
  const names = list.split(',');
  const unknown = names.filter((n) => !all.some((t) => nameOf(t) === n));
  if (unknown.length) throw new Error(`${bench}: unknown ${what} ${unknown.join(', ')}; choose from ${all.map(nameOf).join(', ')}`);
  return all.filter((t) => names.includes(nameOf(t)));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Writes a JSON report (folders made as needed) and says where. */
export function writeReport(out: string, report: unknown): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
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
