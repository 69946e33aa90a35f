// Where the suite is when a test draws random values: a test (or hook) running, or a test file
// loading. rng() (test/helpers.ts) derives each new stream from the run's seed, this scope's name
// and how many streams the scope has drawn so far, so a test draws the same values whether its
// file runs alone or in the whole suite, after whatever other files its worker ran first. (A
// counter shared across the process made the values depend on the order of the files: a
// failure's printed seed did not replay it from its one file.)
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Mocha from 'mocha';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

let scope = 'outside mocha';
let streams = 0;

/** Starts a scope: the streams drawn from now on depend on `name` alone (and the seed). */
export function enterRandomScope(name: string): void {
  scope = name;
  streams = 0;
}

/** The current scope's name and the number of the next stream drawn in it. */
export function nextStream(): { scope: string; index: number } {
  return { scope, index: ++streams };
}

/** The 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

let installed = false;

/**
 * Makes mocha enter a scope as each file loads (its path from the project root) and as each test
 * or hook runs (its full title). Mocha runs one runnable at a time in a process, so the scope is
 * the runnable's until the next one starts.
 */
export function trackRandomScopes(): void {
  if (installed) return;
  installed = true;
  const runnable = Mocha.Runnable.prototype as { run(this: Mocha.Runnable, fn: unknown): unknown };
  const run = runnable.run;
  runnable.run = function (this: Mocha.Runnable, fn: unknown) {
    enterRandomScope(this.fullTitle());
    return run.call(this, fn);
  };
  const suite = Mocha.Suite.prototype as { emit(event: string | symbol, ...args: unknown[]): boolean };
  const emit = suite.emit;
  suite.emit = function (this: Mocha.Suite, event: string | symbol, ...args: unknown[]) {
    if (event === Mocha.Suite.constants.EVENT_FILE_PRE_REQUIRE) enterRandomScope(`loading ${relative(PROJECT_ROOT, String(args[1]))}`);
    return emit.call(this, event, ...args);
  };
}
