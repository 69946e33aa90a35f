// Our own ONNX exports load back as ONNX files: `deeplab export --format onnx` of torchvision's
// DeepLabv3-MobileNetV3 (random weights, ../shared/fixtures/torchvision), loaded with loadModel from
// the file alone, gives the exported network's logits, with the file's classes, normalisation and
// size; `deeplab segment --model x.onnx` labels an image as segment() does.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { exportOnnx } from '../../src/model/onnx-export.js';
import { expectClose, randomArray, rng } from '../helpers.js';
import { messages, runCli } from '../cli/run-cli.js';
import { sharedPath } from '../shared.js';

const MV3 = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const [H, W] = [49, 65];

describe('model: our ONNX exports load back from the file alone', function () {
  this.timeout(300_000);
  let dir: string;
  let file: string;
  let source: LoadedWeights;
  let model: DeepLabModel;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onnx-round-trip-'));
    file = join(dir, 'mv3.onnx');
    source = await loadWeights(MV3, { name: 'mv3-random' });
    exportOnnx(file, source, { height: H, width: W });
    model = await loadModel(file);
  });
  after(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives the exported network's logits, with its classes, normalisation and input size", async () => {
    expect(model.config.backbone).to.equal('onnx');
    expect(model.classNames).to.deep.equal(source.classes.names);
    expect(model.config.normalization).to.equal('imagenet');
    expect(model.inputPolicy).to.deep.equal({ kind: 'fixed', height: H, width: W });
    const x = randomArray(H * W * 3, -2, 2, rng());
    const want = runGraphCpu(source.buildGraph({ height: H, width: W }), source.params, { image: x }).get('logits') as Float32Array;
    expectClose(await model.forwardToHost(x, H, W), want, 'round trip', 1e-5);
  });

  it('deeplab segment --model x.onnx labels an image as segment() does', async () => {
    const out = join(dir, 'out');
    const r = await runCli(['segment', IMAGE, '--model', file, '--out', out]);
    expect(r.code, messages(r.stderr)).to.equal(0);
    const png = readIndexedPng(readFileSync(join(out, '2007_000033.png')));
    const { classes, width, height } = await model.segment(IMAGE);
    expect([png.width, png.height]).to.deep.equal([width, height]);
    expect([...png.indices]).to.deep.equal([...classes]);
  });
});
