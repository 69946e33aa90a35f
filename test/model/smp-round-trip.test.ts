// The smp export read by smp itself: folders written by `deeplab export --format smp` (the
// library's writer, and the CLI on a checkpoint we fine-tuned) are loaded with
// `smp.from_pretrained`, run in float64 on the fixture's input by scripts/smp/smp_forward.py
// (../shared/fixtures/smp's folders, test/fixtures/smp-convnext's atto, one fine-tuned here),
// and give our logits. Needs a Python with torch and segmentation_models_pytorch, named by
// DEEPLAB_SMP_PYTHON (scripts/smp/README.md makes one); skipped, saying why, where it is unset
// or cannot import them.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointBytes } from '../../src/model/checkpoint-bytes.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { writeSmpFolder as exportSmpFolder } from '../../src/model/weights/smp-export.js';
import { fineTune } from '../../src/train/fine-tune.js';
import { readFlag } from '../../src/util/flags.js';
import { relativeError } from '../../src/util/relative-error.js';
import { messages, runCli } from '../cli/run-cli.js';
import { expectClose, testContext } from '../helpers.js';
import { nchwToNhwc } from './layout.js';
import { CONVNEXT_FIXTURES, writeConvnextFolder } from './smp-convnext-fixture.js';
import { smpFixture, writeSmpFolder } from './smp-fixture.js';

const FORWARD = 'scripts/smp/smp_forward.py';

/** smp's float64 logits (NCHW) of `folder` on the fixture input at `inputPath`. */
function smpLogits(python: string, folder: string, inputPath: string, dir: string): Float64Array {
  const out = join(dir, `smp-logits-${Math.random().toString(36).slice(2)}.npy`);
  const r = spawnSync(python, [FORWARD, folder, inputPath, out], { encoding: 'utf8', maxBuffer: 16 << 20 });
  expect(r.status, `${python} ${FORWARD}: ${r.stdout}\n${r.stderr}`).to.equal(0);
  return Float64Array.from(readNpy(out).data);
}

/** Our logits on the fixture's input, NCHW as smp's (a binary model's one channel z, as smp's). */
async function ourLogits(model: DeepLabModel, inputPath: string): Promise<Float32Array> {
  const x = readNpy(inputPath);
  const [, , h, w] = x.shape;
  const nhwc = await model.forwardToHost(nchwToNhwc(x.data, x.shape), h, w);
  const channels = model.config.binary ? 1 : model.numClasses;
  const out = new Float32Array(h * w * channels);
  for (let p = 0; p < h * w; p++) for (let c = 0; c < channels; c++) out[c * h * w + p] = nhwc[p * channels + c];
  return out;
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('smp folders: exported here, loaded by smp.from_pretrained and run by smp in float64 @slow', function () {
  this.timeout(600_000);
  let python = '';
  let dir = '';
  before(function () {
    const setting = readFlag('DEEPLAB_SMP_PYTHON');
    const skip = (why: string) => {
      console.log(`      skipped: ${why}; set DEEPLAB_SMP_PYTHON to a Python with torch and segmentation_models_pytorch (scripts/smp/README.md makes one)`);
      this.skip();
    };
    if (!setting) return skip('DEEPLAB_SMP_PYTHON is not set');
    const probe = spawnSync(setting, ['-c', 'import torch, segmentation_models_pytorch'], { encoding: 'utf8' });
    if (probe.status !== 0) return skip(`${setting} cannot import torch and segmentation_models_pytorch (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()})`);
    python = setting;
    dir = mkdtempSync(join(tmpdir(), 'smp-round-trip-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Binary, gray and OS 8; tensors no graph reads (EfficientNet's _conv_head); Linear layers (MiT); timm's keys (tu-).
  for (const folder of ['deeplabv3plus-resnet34', 'deeplabv3-mobilenet_v2', 'deeplabv3plus-efficientnet-b0', 'deeplabv3plus-mit_b0', 'deeplabv3plus-tu-resnet18'] as const) {
    it(`${folder}: the exported folder, in smp, gives our logits (relative error < 1e-4) and the fixture's`, async () => {
      const { dir: src } = writeSmpFolder(folder);
      const out = join(dir, folder);
      const model = await loadModel(src, { ctx: await testContext() });
      try {
        exportSmpFolder(out, await loadWeights(src));
        const input = smpFixture(folder, 'input_64x64.npy');
        const theirs = smpLogits(python, out, input, dir);
        const ref = readNpy(smpFixture(folder, 'logits_64x64.npy')).data;
        const ours = await ourLogits(model, input);
        const errOurs = relativeError(ours, theirs);
        const errRef = relativeError(theirs, ref);
        console.log(`      (${folder}: ours against smp's ${errOurs.toExponential(2)}; smp's against the fixture's ${errRef.toExponential(2)})`);
        expectClose(ours, theirs, `${folder}: ours against smp's forward of the export`);
        // The fixture's logits are smp's float64 forward of the float64 input, both stored as float32.
        expect(errRef, "smp's logits of the export against the fixture's reference").to.be.below(1e-6);
      } finally {
        model.dispose();
        rmSync(src, { recursive: true, force: true });
      }
    });
  }

  it("deeplabv3plus-tu-convnext_atto (test/fixtures/smp-convnext): the exported folder, in smp, gives our logits (relative error < 1e-4) and the fixture's", async () => {
    const config = 'deeplabv3plus-tu-convnext_atto';
    const src = writeConvnextFolder(config);
    const out = join(dir, config);
    const model = await loadModel(src, { ctx: await testContext() });
    try {
      exportSmpFolder(out, await loadWeights(src));
      const input = join(CONVNEXT_FIXTURES, config, 'input.npy');
      const theirs = smpLogits(python, out, input, dir);
      const ours = await ourLogits(model, input);
      const errOurs = relativeError(ours, theirs);
      const errRef = relativeError(theirs, readNpy(join(CONVNEXT_FIXTURES, config, 'logits.npy')).data);
      console.log(`      (${config}: ours against smp's ${errOurs.toExponential(2)}; smp's against the fixture's ${errRef.toExponential(2)})`);
      expectClose(ours, theirs, `${config}: ours against smp's forward of the export`);
      // The fixture's input is the float32 one smp ran (its logits stored as float32).
      expect(errRef, "smp's logits of the export against the fixture's reference").to.be.below(1e-6);
    } finally {
      model.dispose();
      rmSync(src, { recursive: true, force: true });
    }
  });

  it('a model fine-tuned here (two steps, batch statistics trained), exported by `deeplab export --format smp`: smp gives our logits (relative error < 1e-4)', async () => {
    const folder = 'deeplabv3plus-mobilenet_v2';
    const { dir: src } = writeSmpFolder(folder);
    const model = await loadModel(src, { ctx: await testContext() });
    try {
      // The fixture's two training crops and labels, taught with batch statistics as smp trains.
      const images = readNpy(smpFixture(folder, 'train_input_2x64x64_uint8.npy'));
      const labels = readNpy(smpFixture(folder, 'train_label_2x64x64.npy'));
      const [N, H, W] = labels.shape;
      const samples = Array.from({ length: N }, (_, i) => ({
        image: { width: W, height: H, data: Uint8Array.from(images.data.subarray(i * H * W * 3, (i + 1) * H * W * 3)) },
        labels: Uint8Array.from(labels.data.subarray(i * H * W, (i + 1) * H * W)),
      }));
      const tuned = await fineTune(model, samples, { recipe: 'plain', steps: 2, crop: 64, batch: 2, lr: 0.01, scale: [1, 1], flip: false, freezeBn: false, seed: 1 });
      try {
        const ckpt = join(dir, 'tuned.safetensors');
        writeFileSync(ckpt, await checkpointBytes(tuned));
        const out = join(dir, 'tuned-smp');
        mkdirSync(out);
        const r = await runCli(['export', '--model', ckpt, '--format', 'smp', '--out', out]);
        expect(r.code, messages(r.stderr)).to.equal(0);
        const fixtureSha = JSON.parse(readFileSync(smpFixture(folder, 'manifest.json'), 'utf8')).model_safetensors.sha256;
        expect(sha256(join(out, 'model.safetensors')), 'the tuned weights are not the fixture\'s').to.not.equal(fixtureSha);

        const input = smpFixture(folder, 'input_64x64.npy');
        const theirs = smpLogits(python, out, input, dir);
        const ours = await ourLogits(tuned, input);
        const moved = relativeError(theirs, readNpy(smpFixture(folder, 'logits_64x64.npy')).data);
        const err = relativeError(ours, theirs);
        console.log(`      (tuned: ours against smp's ${err.toExponential(2)}; smp's logits moved ${moved.toExponential(2)} from the fixture's)`);
        expect(moved, 'the fine-tune changed the logits').to.be.above(1e-3);
        expectClose(ours, theirs, "the tuned model's logits against smp's forward of its export");
      } finally {
        tuned.dispose();
      }
    } finally {
      model.dispose();
      rmSync(src, { recursive: true, force: true });
    }
  });
});
