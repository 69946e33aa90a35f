// The environment flags (src/util/flags.ts): typed values, defaults, a clear error for a bad
// value, and no other module reading the environment.
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAGS, type FlagName, flagIsSet, flagTable, readFlag, setFlags, withFlags } from '../../src/util/flags.js';
import { expectRejects } from '../helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'); // dist/test/util -> root

/** The TypeScript and script files of the project's own folders. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('util: environment flags', () => {
  it('an unset or empty variable is the default; set ones are typed values', async () => {
    await withFlags({ DEEPLAB_TUNE: undefined, DEEPLAB_SPLIT_K: '', TEST_SEED: '42', DEEPLAB_DEBUG: 'yes', HOSTILE_SEED: undefined, DEEPLAB_CACHE_DIR: '/tmp/x' }, () => {
      expect(readFlag('DEEPLAB_TUNE')).to.equal('cached');
      expect(readFlag('DEEPLAB_SPLIT_K')).to.equal('auto');
      expect(flagIsSet('DEEPLAB_SPLIT_K'), 'empty is unset').to.equal(false);
      expect(readFlag('TEST_SEED')).to.equal(42);
      expect(readFlag('DEEPLAB_DEBUG')).to.equal(true);
      expect(readFlag('HOSTILE_SEED')).to.equal(16);
      expect(readFlag('DEEPLAB_CACHE_DIR')).to.equal('/tmp/x');
    });
    await withFlags({ DEEPLAB_DEBUG: '0', DEEPLAB_CHROMIUM_FLAGS: ' --a  --b=c ', DEEPLAB_CHROMIUM: undefined, DEEPLAB_CLI_CHILD: 'tty' }, () => {
      expect(readFlag('DEEPLAB_DEBUG')).to.equal(false);
      expect(readFlag('DEEPLAB_CHROMIUM_FLAGS')).to.deep.equal(['--a', '--b=c']);
      expect(readFlag('DEEPLAB_CHROMIUM')).to.equal('/usr/bin/chromium');
      expect(readFlag('DEEPLAB_CLI_CHILD')).to.equal('tty');
    });
  });

  it('a bad value is an error naming the variable, the text and what it may be', async () => {
    const cases: [FlagName, string, RegExp][] = [
      ['DEEPLAB_TUNE', 'fast', /^environment variable DEEPLAB_TUNE must be 'off', 'cached' or 'full', got 'fast'$/],
      ['DEEPLAB_SUBGROUPS', 'maybe', /^environment variable DEEPLAB_SUBGROUPS must be 'on' or 'off', got 'maybe'$/],
      ['TEST_SEED', '12abc', /^environment variable TEST_SEED must be a whole number, at least 0, got '12abc'$/],
      ['CAMERA_FRAMES', '0', /^environment variable CAMERA_FRAMES must be a whole number, at least 1, got '0'$/],
      ['PARITY_VERBOSE', 'loud', /^environment variable PARITY_VERBOSE must be 1, true, on, yes \(on\) or 0, false, off, no \(off\), got 'loud'$/],
      ['DEEPLAB_CLI_CHILD', 'x', /^environment variable DEEPLAB_CLI_CHILD must be 'tty' or 'pipe', got 'x'$/],
    ];
    for (const [name, text, pattern] of cases) {
      await withFlags({ [name]: text }, () => expectRejects(() => readFlag(name), pattern, `${name}=${text}`));
    }
  });

  it('setFlags and withFlags put back what was there, unset included', async () => {
    const restore = setFlags({ HOSTILE_VERBOSE: '1', PARITY_NO_FUSE: undefined });
    const restoreAgain = setFlags({ HOSTILE_VERBOSE: undefined, PARITY_NO_FUSE: 'on' });
    expect([readFlag('HOSTILE_VERBOSE'), readFlag('PARITY_NO_FUSE')]).to.deep.equal([false, true]);
    restoreAgain();
    expect([readFlag('HOSTILE_VERBOSE'), readFlag('PARITY_NO_FUSE')]).to.deep.equal([true, false]);
    restore();
    await expectRejects(withFlags({ DEEPLAB_TUNE: 'off' }, () => Promise.reject(new Error('inner'))), /^inner$/);
    expect(flagIsSet('HOSTILE_VERBOSE')).to.equal(false);
  });

  it('the table lists every flag with its default', () => {
    const table = flagTable();
    const rows = table.trim().split('\n').slice(2);
    expect(rows.map((r) => /^\| `(\w+)` \|/.exec(r)?.[1])).to.deep.equal(Object.keys(FLAGS));
    expect(table).to.match(/\| `DEEPLAB_TUNE` \| library \| 'off', 'cached' or 'full' \| cached \|/);
  });

  it('no module but src/util/flags.ts reads the environment (setting it for a child is allowed)', () => {
    const files = ['src', 'bench', 'test', 'demo', 'scripts'].flatMap((d) => sourceFiles(join(ROOT, d)));
    expect(files.length, 'source files found').to.be.greaterThan(100);
    const reads: string[] = [];
    for (const file of files) {
      const rel = relative(ROOT, file);
      if (rel === join('src', 'util', 'flags.ts')) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(\.\.\.|delete\s+)?process\.env(\.\w+|\[[^\]]+\])?(\s*(?:\?\?=|=(?!=)))?/g)) {
        const [, spreadOrDelete, member, assign] = m;
        const write = !!spreadOrDelete || (!!member && !!assign && !assign.includes('??'));
        if (write) continue;
        const line = text.slice(0, m.index).split('\n').length;
        reads.push(`${rel}:${line}: ${m[0]}`);
      }
    }
    expect(reads, 'environment reads outside src/util/flags.ts').to.deep.equal([]);
  });
});
