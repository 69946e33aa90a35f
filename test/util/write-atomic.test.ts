// The one atomic file writer (src/util/write-atomic.ts): a whole file or nothing, and no
// temporary file left behind.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/util/write-atomic.js';
import { expectThrows, rng } from '../helpers.js';

function randomBytes(n: number): Uint8Array {
  const r = rng();
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

describe('util: writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'atomic-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a new file and replaces an existing one, leaving no temporary files', () => {
    const path = join(dir, 'out.png');
    const a = randomBytes(1000);
    writeFileAtomic(path, a);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(a))).to.equal(true);
    writeFileSync(join(dir, 'other'), 'x');
    const b = randomBytes(10);
    writeFileAtomic(path, b);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(b))).to.equal(true);
    expect(readdirSync(dir).sort()).to.deep.equal(['other', 'out.png']);
  });

  it('writes parts one after another (views into larger buffers included)', () => {
    const path = join(dir, 'parts.bin');
    const big = randomBytes(300);
    const parts = [randomBytes(7), big.subarray(100, 250), new Uint8Array(0), randomBytes(64)];
    writeFileAtomic(path, parts);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.concat(parts))).to.equal(true);
  });

  it('fails with the path named and leaves nothing behind', () => {
    const path = join(dir, 'missing-subdir', 'out.png');
    expectThrows(() => writeFileAtomic(path, new Uint8Array(3)), /^cannot write .*missing-subdir\/out\.png: ENOENT/);
    expect(existsSync(path)).to.equal(false);
    // Renaming a file over a directory fails after the temporary file was written: it is removed.
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    expectThrows(() => writeFileAtomic(sub, new Uint8Array(3)), /^cannot write .*\/sub: /);
    expect(readdirSync(dir)).to.deep.equal(['sub']);
  });
});
