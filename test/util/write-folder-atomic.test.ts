// The atomic folder writer (src/util/write-folder-atomic.ts): a whole folder or nothing, never
// among other files, and no temporary folder left behind.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderAtomic } from '../../src/util/write-folder-atomic.js';
import { expectThrows } from '../helpers.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('util: writeFolderAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'atomic-folder-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every file, in subfolders too, into a new folder (its parents made) or an empty one', () => {
    const out = join(dir, 'a', 'b', 'out');
    writeFolderAtomic(out, new Map([['config.json', bytes('{}')], ['onnx/model.onnx', bytes('graph')]]));
    expect(readFileSync(join(out, 'config.json'), 'utf8')).to.equal('{}');
    expect(readFileSync(join(out, 'onnx', 'model.onnx'), 'utf8')).to.equal('graph');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFolderAtomic(empty, new Map([['x', bytes('1')]]));
    expect(readdirSync(empty)).to.deep.equal(['x']);
    expect(readdirSync(dir).sort()).to.deep.equal(['a', 'empty']);
  });

  it('refuses a folder holding files, a file, and paths outside the folder, writing nothing', () => {
    const full = join(dir, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'old'), 'kept');
    expectThrows(() => writeFolderAtomic(full, new Map([['new', bytes('1')]])), `cannot write ${full}: the folder is not empty`);
    expect(readdirSync(full)).to.deep.equal(['old']);
    expectThrows(() => writeFolderAtomic(join(full, 'old'), new Map()), 'it is a file, not a folder');
    for (const name of ['../x', '/abs', 'a//b', './a', '']) {
      expectThrows(() => writeFolderAtomic(join(dir, 'out'), new Map([[name, bytes('1')]])), `'${name}' is not a path inside the folder`);
    }
    expect(readdirSync(dir)).to.deep.equal(['full']);
  });

  it('a failure part-way leaves neither the folder nor its temporary one', () => {
    // A file and a folder of the same name: the second write fails after the first was written.
    const out = join(dir, 'out');
    expectThrows(() => writeFolderAtomic(out, new Map([['onnx', bytes('1')], ['onnx/model.onnx', bytes('2')]])), `cannot write ${out}: `);
    expect(existsSync(out)).to.equal(false);
    expect(readdirSync(dir)).to.deep.equal([]);
  });
});
