// `deeplab segment`'s collections without a GPU: patterns, folders and manifests as one ordered
// list, shards that cover it exactly once, the outputs a rerun trusts, and the temporary files a
// killed run leaves.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finishedOutput } from '../../src/cli/finished-outputs.js';
import { collectInputs, readManifest } from '../../src/cli/segment-inputs.js';
import { parseShard, shardItems } from '../../src/cli/shard.js';
import { removeStaleTempFiles } from '../../src/cli/stale-temp-files.js';
import { encodeIndexedPng } from '../../src/io/png-indexed.js';
import { VOC_CLASSES, VOC_PALETTE } from '../../src/model/voc.js';
import { expandGlob } from '../../src/util/glob.js';
import { writeFileAtomic } from '../../src/util/write-atomic.js';
import { expectThrows, rng } from '../helpers.js';
import { sharedPath } from '../shared.js';

const VOC = sharedPath('data', 'voc-sample', 'JPEGImages');

describe('cli: segment collections (inputs, shards, finished outputs)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-inputs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Empty files at the given paths below `dir`. */
  const touch = (...paths: string[]): void => {
    for (const p of paths) {
      mkdirSync(join(dir, p, '..'), { recursive: true });
      writeFileSync(join(dir, p), '');
    }
  };

  /** The files a pattern below `dir` matches, as paths below `dir`. */
  const names = (pattern: string): string[] => expandGlob(join(dir, pattern)).files.map((f) => f.slice(dir.length + 1));

  it('expands patterns in path order: *, ?, sets, ** over any depth, hidden names left out', () => {
    touch('b.jpg', 'a.jpg', 'a.png', 'c1.jpg', 'c2.jpg', '.hidden.jpg', 'sub/x.jpg', 'sub/deep/y.jpg', 'sub/.h/z.jpg', 'B.jpg');
    expect(names('*.jpg')).to.deep.equal(['B.jpg', 'a.jpg', 'b.jpg', 'c1.jpg', 'c2.jpg']);
    expect(names('c?.jpg')).to.deep.equal(['c1.jpg', 'c2.jpg']);
    expect(names('[ab].*')).to.deep.equal(['a.jpg', 'a.png', 'b.jpg']);
    expect(names('[!ab].jpg')).to.deep.equal(['B.jpg']);
    expect(names('**/*.jpg')).to.deep.equal(['B.jpg', 'a.jpg', 'b.jpg', 'c1.jpg', 'c2.jpg', 'sub/deep/y.jpg', 'sub/x.jpg']);
    expect(names('sub/**')).to.deep.equal(['sub/deep/y.jpg', 'sub/x.jpg']);
    expect(names('.*.jpg')).to.deep.equal(['.hidden.jpg']);
    expect(names('nothing*')).to.deep.equal([]);
    expect(expandGlob(join(dir, 'sub', '*', '*.jpg')).base).to.equal(join(dir, 'sub'));
  });

  it("expands glob's braces, takes a backslashed character as itself, and goes into linked folders", () => {
    touch('a.jpg', 'b.jpg', '[1].jpg', 'sub/x.jpg', 'real/r.jpg', 'real/inner/i.jpg');
    symlinkSync(join(dir, 'real'), join(dir, 'sub', 'link'));
    expect(names('{a,sub/x}.jpg')).to.deep.equal(['a.jpg', 'sub/x.jpg']);
    expect(expandGlob(join(dir, '{sub,real}', '*.jpg')).base, 'the folders every expansion shares').to.equal(dir);
    expect(collectInputs([join(dir, '{a,b}.jpg')], undefined, join(dir, 'out')).map((i) => i.stem), 'braces make a pattern').to.deep.equal(['a', 'b']);
    expect(names('\\[1\\]*')).to.deep.equal(['[1].jpg']);
    expect(names('sub/*'), 'a link to a folder is no file').to.deep.equal(['sub/x.jpg']);
    expect(names('sub/**/*.jpg')).to.deep.equal(['sub/link/inner/i.jpg', 'sub/link/r.jpg', 'sub/x.jpg']);
  });

  it('takes files, folders (images below, outputs mirrored) and patterns in the order given, each once', () => {
    touch('photos/2.jpg', 'photos/1.png', 'photos/notes.txt', 'photos/x/1.png', 'photos/out/old.png', 'one.jpg');
    const got = collectInputs([join(dir, 'one.jpg'), join(dir, 'photos'), join(dir, 'photos/*.png'), join(dir, 'one.jpg')], undefined, join(dir, 'photos/out'));
    expect(got.map((i) => [i.source.slice(dir.length + 1), i.stem])).to.deep.equal([
      ['one.jpg', 'one'],
      ['photos/1.png', '1'],
      ['photos/2.jpg', '2'],
      ['photos/x/1.png', 'x/1'],
    ]);
  });

  it('refuses names that are neither file, folder nor a matching pattern, all at once', () => {
    touch('empty/notes.txt');
    const e = expectThrows(() => collectInputs([join(dir, 'missing.jpg'), join(dir, 'empty'), join(dir, '*.webp')], undefined, dir), `${join(dir, 'missing.jpg')}: no such file; ${join(dir, 'empty')}: a folder with no images`);
    expect(e.message).to.contain(`${join(dir, '*.webp')}: no file matches`);
  });

  it("reads a manifest: a path or URL a line, comments and blanks skipped, relative paths from the manifest's folder", () => {
    const manifest = join(dir, 'lists', 'images.txt');
    mkdirSync(join(dir, 'lists'));
    writeFileSync(manifest, '# the VOC sample\n\na/1.jpg\r\n  /data/2.png  \nhttps://example.org/img/3%20x.jpg?size=big\nhttp://example.org/\n');
    expect(readManifest(manifest)).to.deep.equal([
      { source: join(dir, 'lists', 'a/1.jpg'), stem: '1' },
      { source: '/data/2.png', stem: '2' },
      { source: 'https://example.org/img/3%20x.jpg?size=big', stem: '3 x' },
      { source: 'http://example.org/', stem: 'image' },
    ]);
    expectThrows(() => readManifest(join(dir, 'none.txt')), /--manifest .*none\.txt: cannot read it \(ENOENT\)/);
  });

  it('shards cover any list exactly once, each shard every N-th item in order', () => {
    const r = rng();
    for (let t = 0; t < 20; t++) {
      const items = Array.from({ length: Math.floor(r() * 40) }, (_, i) => i);
      const count = 1 + Math.floor(r() * 7);
      const shards = Array.from({ length: count }, (_, index) => shardItems(items, { index, count }));
      expect(shards.flat().sort((a, b) => a - b)).to.deep.equal(items);
      shards.forEach((s, index) => expect(s.every((v, k) => v === index + k * count)).to.equal(true));
    }
    expect(parseShard('2/8')).to.deep.equal({ index: 2, count: 8 });
    expect(parseShard(' 0 / 1 ')).to.deep.equal({ index: 0, count: 1 });
    expectThrows(() => parseShard('3/3'), 'the index counts from 0 and must be below 3 (0..2)');
    expectThrows(() => parseShard('0/0'), 'the number of shards must be at least 1');
    expectThrows(() => parseShard('1of3'), "'1of3' is not I/N");
  });

  it('trusts an output only when the mask (and overlay) are whole, valid and at the input size', async () => {
    const input = join(VOC, '2007_000033.jpg'); // 500x366
    const classes = new Uint8Array(500 * 366);
    classes.fill(1, 0, 500 * 100);
    const mask = join(dir, 'm.png');
    const plan = { input, mask };
    const bytes = encodeIndexedPng(classes, 500, 366, VOC_PALETTE);
    expect(await finishedOutput(plan, VOC_CLASSES, true), 'no mask yet').to.equal(undefined);
    writeFileSync(mask, bytes.subarray(0, bytes.length - 10));
    expect(await finishedOutput(plan, VOC_CLASSES, true), 'a cut mask').to.equal(undefined);
    writeFileSync(mask, encodeIndexedPng(classes.subarray(0, 366 * 366), 366, 366, VOC_PALETTE));
    expect(await finishedOutput(plan, VOC_CLASSES, true), "another image's size").to.equal(undefined);
    writeFileSync(mask, bytes);
    const done = await finishedOutput(plan, VOC_CLASSES, true);
    expect(done).to.deep.equal({ width: 500, height: 366, classes: { background: 72.678, aeroplane: 27.322 } });
    expect(await finishedOutput({ ...plan, overlay: join(dir, 'o.png') }, VOC_CLASSES, true), 'no overlay').to.equal(undefined);
    const wrong = classes.slice();
    wrong[7] = 21;
    writeFileSync(mask, encodeIndexedPng(wrong, 500, 366, VOC_PALETTE));
    expect(await finishedOutput(plan, VOC_CLASSES, true), 'a class the model has not').to.equal(undefined);
  });

  it("removes the temporary files of this run's outputs only", () => {
    writeFileAtomic(join(dir, 'a.png'), new Uint8Array([1]));
    const stale = ['.a.png.1.abc.tmp', '.b.png.77.x9.tmp'];
    const others = ['.c.png.1.abc.tmp', 'a.png.1.abc.tmp', '.b.png.tmp'];
    for (const n of [...stale, ...others]) writeFileSync(join(dir, n), '');
    expect(removeStaleTempFiles([join(dir, 'a.png'), join(dir, 'b.png'), join(dir, 'no-folder', 'c.png')])).to.equal(2);
    expect(readdirSync(dir).sort()).to.deep.equal([...others, 'a.png'].sort());
    expect(readFileSync(join(dir, 'a.png'))[0]).to.equal(1);
  });
});
