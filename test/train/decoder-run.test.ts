// `deeplab train --decoder deeplabv3plus` end to end on a few CamVid images (tiny crops, two
// steps: lavapipe is slow): the decoder is built and trained, the checkpoints carry it (segment
// loads them as DeepLabv3+), --resume keeps it and refuses another, and a bad name is a usage
// error.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/model/model.js';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { runCli } from '../cli/run-cli.js';
import { testContext } from '../helpers.js';
import { readRunLog, smallCamvid } from './small-camvid.js';

describe('training: deeplab train --decoder deeplabv3plus', function () {
  this.timeout(600_000);
  let dir: string;
  let data: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-v3plus-train-'));
    data = smallCamvid(dir, 2);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const train = (out: string, ...more: string[]) =>
    runCli(['train', '--data', data, '--model', 'mobilenetv2-pascal-257', '--out', out, '--batch', '2', '--crop', '33', '--eval-limit', '1', '--workers', '0', '--seed', '1', ...more]);

  describe('a training run @slow', () => {
    it('trains the decoder, writes checkpoints that load as DeepLabv3+, and resumes with it', async () => {
      const out = join(dir, 'v3plus');
      const r = await train(out, '--steps', '2', '--decoder', 'deeplabv3plus');
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/new classifier for 11 classes and new deeplabv3plus decoder on mobilenetv2-pascal-257: .*decoder\/feature_projection0\/weights.* initialised afresh/);
      const log = readRunLog(out);
      expect(log.map((l) => l.step)).to.deep.equal([1, 2]);
      expect(log.every((l) => Number.isFinite(l.loss))).to.equal(true);
      const { tensors, metadata } = readSafetensors(join(out, 'latest.safetensors'));
      expect(JSON.parse(metadata.config).decoder).to.equal('deeplabv3plus');
      expect(tensors.has('decoder/decoder_conv1_pointwise/weights#momentum'), 'the decoder trained (its momentum is saved)').to.equal(true);

      const model = await loadModel(join(out, 'best.safetensors'), { ctx: await testContext() });
      try {
        expect(model.config.decoder).to.equal('deeplabv3plus');
        const image = join(data, 'images', 'val', readdirSync(join(data, 'images', 'val'))[0]);
        const s = await model.segment(image);
        expect([s.width, s.height]).to.deep.equal([480, 360]);
      } finally {
        model.dispose();
      }

      const resumed = await train(out, '--steps', '3', '--resume');
      expect(resumed.code, resumed.stderr).to.equal(0);
      expect(readRunLog(out).map((l) => l.step)).to.deep.equal([1, 2, 3]);
      expect(JSON.parse(readSafetensors(join(out, 'latest.safetensors')).metadata.config).decoder).to.equal('deeplabv3plus');
      const other = await train(out, '--steps', '4', '--resume', '--decoder', 'none');
      expect(other.code).to.equal(1);
      expect(other.stderr).to.contain("holds a model with decoder 'deeplabv3plus', not 'none'");
    });
  });

  it('an unknown decoder is a usage error; the help names the choices', async () => {
    const r = await train(join(dir, 'bad'), '--steps', '1', '--decoder', 'unet');
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("--decoder: 'unet' is not one of none, deeplabv3plus");
    const help = await runCli(['train', '--help']);
    expect(help.stdout).to.match(/--decoder NAME\s+decoder after ASPP: none, deeplabv3plus/);
  });
});
