// Training handed to PyTorch and back (docs/scale.md): a MobileViT fine-tuned here on a few CamVid
// images, exported as a Hugging Face hub folder, trained on by docs/ddp_train.py with
// DistributedDataParallel (two processes, gloo, CPU), and the folder it writes loaded back here:
// our logits on a photo are PyTorch's for the same folder, and `deeplab segment` uses it. Needs a
// Python with torch and transformers (DEEPLAB_PYTHON, default python3); skipped, saying why,
// where there is none.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { loadModel } from '../../src/model/model.js';
import { readFlag } from '../../src/util/flags.js';
import { relativeError } from '../../src/util/relative-error.js';
import { messages, runCli } from '../cli/run-cli.js';
import { sharedPath } from '../shared.js';
import { CAMVID, smallCamvid } from './small-camvid.js';

const MOBILEVIT = sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small');
const PHOTO = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');

interface DdpLog {
  worldSize: number;
  backend: string;
  losses: number[];
  parameterSums: number[];
  prediction: string;
}

describe('training: fine-tuned here, trained on in PyTorch DDP, segmenting here again @slow', function () {
  this.timeout(600_000);
  let dir = '';
  let python = '';
  before(function () {
    python = readFlag('DEEPLAB_PYTHON');
    const probe = spawnSync(python, ['-c', 'import torch, transformers, safetensors'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      const why = probe.error?.message ?? probe.stderr.trim().split('\n').pop();
      console.log(`      skipped: ${python} cannot import torch, transformers and safetensors (${why}); set DEEPLAB_PYTHON to a Python that can (docs/scale.md)`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'deeplab-ddp-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('hub folder out, two DDP processes, hub folder back: PyTorch\'s logits, and `deeplab segment` with it', async () => {
    const data = smallCamvid(dir, 3);
    const run = join(dir, 'run');
    const trained = await runCli(['train', '--data', data, '--model', MOBILEVIT, '--out', run, '--steps', '2', '--batch', '2', '--crop', '65', '--eval-limit', '1', '--seed', '1']);
    expect(trained.code, messages(trained.stderr)).to.equal(0);
    const exported = join(dir, 'exported');
    const exp = await runCli(['export', '--model', join(run, 'latest.safetensors'), '--format', 'hf', '--out', exported]);
    expect(exp.code, messages(exp.stderr)).to.equal(0);

    const back = join(dir, 'ddp');
    const ddpArgs = ['docs/ddp_train.py', '--model', exported, '--data', data, '--out', back, '--world-size', '2', '--steps', '3', '--batch', '2', '--crop', '65', '--predict', PHOTO];
    const ddp = spawnSync(python, ddpArgs, { encoding: 'utf8', maxBuffer: 16 << 20 });
    expect(ddp.status, `${ddp.stdout}\n${ddp.stderr}`).to.equal(0);
    expect(ddp.stdout).to.match(/step 3\/3 {2}loss \d+\.\d+ {2}\(2 processes x 2 crops\)/);
    const log = JSON.parse(readFileSync(join(back, 'ddp_log.json'), 'utf8')) as DdpLog;
    expect([log.worldSize, log.backend]).to.deep.equal([2, 'gloo']);
    expect(log.losses.length).to.equal(3);
    expect(log.losses.every(Number.isFinite)).to.equal(true);
    // DDP kept the two replicas equal; and they moved from the exported weights.
    expect(log.parameterSums[0]).to.equal(log.parameterSums[1]);
    expect(readFileSync(join(back, 'model.safetensors')).equals(readFileSync(join(exported, 'model.safetensors')))).to.equal(false);

    // Back here: the classes fine-tuned here, and PyTorch's logits for the photo (its processor's
    // bicubic resize and ours differ by a level on a few pixels, hence not 1e-6).
    const model = await loadModel(back);
    try {
      const names = (JSON.parse(readFileSync(join(CAMVID, 'classes.json'), 'utf8')) as { names: string[] }).names;
      expect(model.classNames).to.deep.equal(names);
      const ours = await model.segment(PHOTO, { include: ['logits'] });
      const theirs = new Float32Array(new Uint8Array(readFileSync(join(back, 'prediction_logits.f32'))).buffer);
      expect(ours.logits!.length).to.equal(theirs.length);
      expect(relativeError(ours.logits!, theirs), 'logits against PyTorch').to.be.below(2e-3);
    } finally {
      model.dispose();
    }
    const masks = join(dir, 'masks');
    const seg = await runCli(['segment', PHOTO, '--model', back, '--out', masks]);
    expect(seg.code, messages(seg.stderr)).to.equal(0);
    const mask = readIndexedPng(readFileSync(join(masks, '2007_000033.png')));
    const ref = readIndexedPng(readFileSync(log.prediction));
    expect([mask.width, mask.height]).to.deep.equal([ref.width, ref.height]);
    let same = 0;
    for (let i = 0; i < ref.indices.length; i++) if (ref.indices[i] === mask.indices[i]) same++;
    expect(same / ref.indices.length, "labels as PyTorch's").to.be.at.least(0.99);
  });
});
