// Fine-tuning an imported ONNX graph through the calls users make (test/fixtures/onnx-train's
// network, batch norms kept): fineTune with a new class set replaces the conv that makes the
// logits and trains with batch statistics; the model saves as our checkpoint (the file's graph in
// its metadata) and `deeplab export --format onnx` writes the file's own graph back, its opset and
// node names kept, with the trained weights, which onnxruntime runs to our logits within 1e-5;
// `deeplab train --model x.onnx` trains it on a data set of other classes.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOnnx } from '../../src/graph/onnx/read.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { fineTune } from '../../src/train/fine-tune.js';
import { expectClose, randomArray, rng } from '../helpers.js';
import { messages, runCli } from '../cli/run-cli.js';
import { runOnnx } from '../onnx-runtime.js';
import { nchwToNhwc } from './fixtures.js';
import { readRunLog, smallCamvid } from './small-camvid.js';

const FILE = 'test/fixtures/onnx-train/model.onnx';

/** Runs `file` in onnxruntime and `model` on the same random input: both logits, NHWC. */
async function bothLogits(file: string, model: DeepLabModel, h: number, w: number): Promise<{ theirs: Float32Array; ours: Float32Array }> {
  const x = randomArray(3 * h * w, -2, 2, rng());
  const out = (await runOnnx(readFileSync(file), { image: { dims: [1, 3, h, w], data: x } })).get('logits')!;
  const ours = await model.forwardToHost(nchwToNhwc(x, [1, 3, h, w]), h, w);
  return { theirs: nchwToNhwc(out.data, out.dims), ours };
}

describe('training: fine-tuning an imported ONNX graph and exporting it back', function () {
  this.timeout(600_000);
  let dir: string;
  let model: DeepLabModel;
  const original = readOnnx(readFileSync(FILE), FILE);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onnx-fine-tune-'));
    model = await loadModel(FILE);
  });
  after(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fineTune to new classes, saved, exported by deeplab export: the file's graph with the trained weights, which onnxruntime runs as we do", async () => {
    const r = rng();
    const image = { width: 48, height: 40, data: Uint8Array.from({ length: 48 * 40 * 3 }, () => Math.floor(r() * 256)) };
    const labels = Uint8Array.from({ length: 48 * 40 }, (_, i) => Math.floor(i / 640));
    const tuned = await fineTune(model, [{ image, labels }], { recipe: 'plain', steps: 2, crop: 33, lr: 0.01, classes: ['sky', 'road', 'car'], freezeBn: false, seed: 3 });
    try {
      expect(tuned.classNames).to.deep.equal(['sky', 'road', 'car']);
      const ckpt = join(dir, 'tuned.safetensors');
      await tuned.save(ckpt);
      const out = join(dir, 'tuned.onnx');
      const cli = await runCli(['export', '--model', ckpt, '--format', 'onnx', '--out', out]);
      expect(cli.code, messages(cli.stderr)).to.equal(0);
      const back = readOnnx(readFileSync(out), out);
      // The same graph: opset, node names and ops, initializers; the logits' conv under the new classes.
      expect(back.opset).to.equal(original.opset);
      expect(back.graph.nodes.map((n) => `${n.name} ${n.opType}`)).to.deep.equal(original.graph.nodes.map((n) => `${n.name} ${n.opType}`));
      expect([...back.graph.initializers.keys()].sort()).to.deep.equal([...original.graph.initializers.keys()].sort());
      expect(back.graph.initializers.get('head.classifier.weight')!.dims).to.deep.equal([3, 8, 1, 1]);
      expect(JSON.parse(back.metadata.get('classes')!)).to.deep.equal(['sky', 'road', 'car']);
      // Trained: the batch norms' running statistics moved (train mode), the weights too.
      const moved = (name: string) => back.graph.initializers.get(name)!.data.some((v, i) => v !== original.graph.initializers.get(name)!.data[i]);
      expect(moved('stem.1.running_mean') && moved('stem.0.weight'), 'trained weights and statistics written back').to.equal(true);
      for (const [h, w] of [[33, 41], [24, 24]]) {
        const { theirs, ours } = await bothLogits(out, tuned, h, w);
        expectClose(ours, theirs, `exported fine-tuned model ${h}x${w}`, 1e-5);
      }
    } finally {
      tuned.dispose();
    }
  });

  it('deeplab train --model x.onnx trains it for a data set of other classes @slow', async () => {
    const data = smallCamvid(dir, 2);
    const out = join(dir, 'run');
    const r = await runCli(['train', '--data', data, '--model', FILE, '--out', out, '--steps', '2', '--batch', '2', '--crop', '33', '--eval-limit', '1', '--workers', '0', '--seed', '1']);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(r.stderr).to.match(/new classifier for 11 classes/);
    expect(readRunLog(out).every((l) => Number.isFinite(l.loss))).to.equal(true);
    const trained = await loadModel(join(out, 'latest.safetensors'));
    try {
      expect(trained.numClasses).to.equal(11);
      expect(trained.config.backbone).to.equal('onnx');
    } finally {
      trained.dispose();
    }
  });
});
