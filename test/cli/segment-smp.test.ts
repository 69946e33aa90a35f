// `deeplab segment --model FOLDER` on an smp folder the test writes: a binary, grayscale model
// (smp's `deeplabv3-mobilenet_v2` fixture: in_channels 1, classes 1) segments a colour photo into
// a background / foreground mask whose pixels are the library's segment() labels, and an overlay.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage } from '../../src/io/image.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { loadModel } from '../../src/model/model.js';
import { testContext } from '../helpers.js';
import { writeSmpFolder } from '../model/smp-fixture.js';
import { sharedPath } from '../shared.js';
import { messages, runCli } from './run-cli.js';

describe('deeplab segment: an smp folder (binary, grayscale)', function () {
  this.timeout(300_000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deeplab-cli-smp-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("writes the foreground mask of a colour photo, the library's labels, and its overlay", async () => {
    const { dir } = writeSmpFolder('deeplabv3-mobilenet_v2', mkdtempSync(join(tmp, 'model-')));
    const input = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
    const out = join(tmp, 'masks');
    const r = await runCli(['segment', input, '--model', dir, '--out', out, '--overlay']);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(readdirSync(out).sort()).to.deep.equal(['2007_000033.png', '2007_000033_overlay.png']);
    const mask = readIndexedPng(readFileSync(join(out, '2007_000033.png')), 'mask');
    const img = await readImage(input);
    expect([mask.width, mask.height]).to.deep.equal([img.width, img.height]);
    expect(r.stdout).to.match(/(background|foreground) \d+\.\d%/);

    const model = await loadModel(dir, { ctx: await testContext() });
    try {
      expect(model.classNames).to.deep.equal(['background', 'foreground']);
      const { classes } = await model.segment(img);
      let same = 0;
      for (let i = 0; i < classes.length; i++) if (classes[i] === mask.indices[i]) same++;
      expect(same, 'pixels labelled as segment() labels them').to.equal(classes.length);
      expect(mask.indices.every((c) => c <= 1)).to.equal(true);
    } finally {
      model.dispose();
    }
  });
});
