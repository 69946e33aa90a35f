// `deeplab data DIR`: the format found, images and sizes, pixels per class, the ignored pixels,
// the problems and the warnings, checked against tiny data sets whose pixel counts are known.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImageSize } from '../../src/io/image-size.js';
import { runCli } from '../cli/run-cli.js';
import { sharedPath } from '../shared.js';
import { tinyCoco } from './tiny-coco.js';
import { writeColourFolders, writeGreyPng, writeJson, writePhoto, writeRgbPng } from './tiny-datasets.js';

let root: string;

/** Two images (3x2 and 4x1) of classes a and b: a 3 pixels, b 4, ignored 3. */
async function clean(dir: string, names = ['a', 'b']): Promise<void> {
  writeJson(join(dir, 'classes.json'), { names, colors: names.map((_, i) => [i * 40, 0, 0]), ignoreIndex: 255 });
  await writePhoto(join(dir, 'images', 'train', 'one.jpg'), 3, 2);
  writeGreyPng(join(dir, 'labels', 'train', 'one.png'), 3, [0, 0, 1, 1, 1, 255]);
  await writePhoto(join(dir, 'images', 'train', 'two.png'), 4, 1);
  writeGreyPng(join(dir, 'labels', 'train', 'two.png'), 4, [1, 0, 255, 255]);
}

describe('cli: deeplab data', () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'deeplab-data-cmd-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('--json gives the format, images, pixels per class and ignored pixels; exit 0 without problems', async () => {
    const dir = join(root, 'clean');
    await clean(dir);
    const r = await runCli(['data', dir, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).to.deep.equal({
      format: 'folders',
      split: 'train',
      images: 2,
      sizes: [
        { width: 3, height: 2, images: 1 },
        { width: 4, height: 1, images: 1 },
      ],
      classes: [
        { name: 'a', pixels: 3 },
        { name: 'b', pixels: 4 },
      ],
      ignoredPixels: 3,
      problems: [],
      warnings: [],
    });
    const text = await runCli(['data', dir, '--split', 'train', '--format', 'folders']);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.contain('format folders, split train, 2 images');
    expect(text.stdout).to.contain('3x2 (1), 4x1 (1)');
    expect(text.stdout).to.match(/ b +40\.00 % +4\n/);
    expect(text.stdout).to.match(/ ignored +30\.00 % +3\n/);
    expect(text.stdout).to.contain('no problems found');
  });

  it('collects the problems (colour mask, size mismatch, unreadable image) apart from the warnings (empty class) and exits 1', async () => {
    const dir = join(root, 'broken');
    await clean(dir, ['a', 'b', 'c']);
    await writePhoto(join(dir, 'images', 'train', 'three.png'), 2, 2);
    writeRgbPng(join(dir, 'labels', 'train', 'three.png'), 2, [[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    await writePhoto(join(dir, 'images', 'train', 'four.png'), 5, 5);
    writeGreyPng(join(dir, 'labels', 'train', 'four.png'), 2, [0, 0]);
    writeFileSync(join(dir, 'images', 'train', 'five.jpg'), Buffer.from('not a jpeg'));
    writeGreyPng(join(dir, 'labels', 'train', 'five.png'), 1, [1]);
    const r = await runCli(['data', dir, '--json']);
    expect(r.code, r.stderr).to.equal(1);
    const doc = JSON.parse(r.stdout) as { images: number; classes: { name: string; pixels: number }[]; problems: string[]; warnings: string[] };
    expect(doc.images).to.equal(5);
    expect(doc.classes).to.deep.equal([
      { name: 'a', pixels: 5 },
      { name: 'b', pixels: 5 },
      { name: 'c', pixels: 0 },
    ]);
    const problems = doc.problems.join('\n');
    expect(doc.problems).to.have.length(3);
    expect(problems).to.match(/three\.png: an RGB colour PNG .*looks like a colour mask.*--format colour/);
    expect(problems).to.match(/four\.png: the label is 2x1 but its image .*four\.png is 5x5/);
    expect(problems).to.match(/unreadable image: .*five\.jpg/);
    expect(doc.warnings).to.deep.equal(["class 2 'c' has no pixels in split 'train'"]);
    const text = await runCli(['data', dir]);
    expect(text.code).to.equal(1);
    expect(text.stdout).to.contain('3 problems:');
    expect(text.stdout).to.contain("1 warning:\n  - class 2 'c' has no pixels in split 'train'");
  });

  it('warnings alone (a class with no pixels in the split) exit 0', async () => {
    const dir = join(root, 'empty-class');
    await clean(dir, ['a', 'b', 'c']);
    const r = await runCli(['data', dir, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout) as { problems: string[]; warnings: string[] };
    expect(doc.problems).to.deep.equal([]);
    expect(doc.warnings).to.deep.equal(["class 2 'c' has no pixels in split 'train'"]);
    const text = await runCli(['data', dir]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.contain('no problems found\n1 warning:');
  });

  it('a JPEG cut to a third of its bytes (its header intact) is a problem naming its path, exit 1', async () => {
    const dir = join(root, 'coco-cut');
    await tinyCoco(dir);
    const cut = join(dir, 'val2017', 'b.jpg');
    const whole = readFileSync(sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg'));
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 3)));
    expect(await readImageSize(cut), 'the header alone still reads').to.deep.equal({ width: 500, height: 366 });
    const r = await runCli(['data', dir, '--split', 'val2017', '--json']);
    expect(r.code, r.stderr).to.equal(1);
    const doc = JSON.parse(r.stdout) as { format: string; problems: string[] };
    expect(doc.format).to.equal('coco');
    expect(doc.problems).to.have.length(1);
    expect(doc.problems[0]).to.contain(cut);
    expect(doc.problems[0]).to.match(/truncated|premature end/);
    const text = await runCli(['data', dir, '--split', 'val2017']);
    expect(text.code).to.equal(1);
    expect(text.stdout).to.contain(`1 problem:\n  - unreadable image: `);
    expect(text.stdout).to.contain(cut);
  });

  it('RGB labels with classes.json are read as colour masks without --format; --format still overrides', async () => {
    const dir = join(root, 'colour');
    await writeColourFolders(dir, 'json');
    const r = await runCli(['data', dir, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout) as { format: string; classes: { name: string; pixels: number }[]; problems: string[] };
    expect(doc.format).to.equal('colour');
    expect(doc.problems).to.deep.equal([]);
    expect(doc.classes.every((c) => c.pixels > 0), 'every class found in the masks').to.equal(true);
    const forced = await runCli(['data', dir, '--format', 'folders', '--json']);
    expect(forced.code).to.equal(1);
    expect((JSON.parse(forced.stdout) as { problems: string[] }).problems.join('\n')).to.match(/an RGB colour PNG .*looks like a colour mask/);
  });

  it('names a bad --format, and a folder that is no data set', async () => {
    const bad = await runCli(['data', root, '--format', 'kitti']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain("--format: 'kitti' is not one of voc, folders, cityscapes, ade20k, colour, coco");
    const none = await runCli(['data', root]);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.match(/neither a VOC folder/);
    const help = await runCli(['data', '--help']);
    expect(help.stdout).to.contain('1 when there are problems');
    expect(help.stdout).to.contain('warnings alone included');
  });
});
