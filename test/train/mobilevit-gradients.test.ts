// MobileViT DeepLabV3's training step against transformers' (../shared/fixtures/hf, README there):
// batch 2 at 64x96, batch norms in training mode, every dropout off, the loss of the logits
// resized to the labels (cross-entropy, ignore index 255, mean over labelled pixels); the loss,
// every parameter's gradient and the running statistics after the step. Every backward rule of
// the attention ops (layer norm, batched matmul, softmax, permute, SiLU) runs here at once.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { compile } from '../../src/graph/compile.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import { permuteCpu } from '../../src/kernels/layout/permute.js';
import { buildMobileVitDeepLab } from '../../src/model/networks/mobilevit.js';
import { mobileVitConfigFromHub } from '../../src/model/networks/mobilevit-config.js';
import { parseNpy, readNpy } from '../../src/model/weights/import/npy.js';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import type { HostTensor } from '../../src/model/weights/import/tensor-map.js';
import { readZip } from '../../src/model/weights/import/zip.js';
import { transformersParams } from '../../src/model/weights/transformers.js';
import { relativeError, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { asFixture } from './fixtures.js';
import { lossGradientGraph, worstError } from './float64-gradients.js';

const DIR = sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small');
const STEP = `${DIR}/train_seed1_2x64x96`;

function readNpz(path: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, bytes] of readZip(readFileSync(path))) out.set(name.replace(/\.npy$/, ''), parseNpy(bytes, `${path}:${name}`));
  return out;
}

describe('training: MobileViT gradients against transformers (fixtures/hf) @slow', function () {
  this.timeout(900_000);

  it('xx-small, batch 2 at 64x96: loss, every parameter gradient, running statistics', async () => {
    const ctx = await testContext();
    const cfg = mobileVitConfigFromHub(JSON.parse(readFileSync(`${DIR}/config.json`, 'utf8')));
    const params = transformersParams(readSafetensors(`${DIR}/model.safetensors`).tensors);
    const pixels = readNpy(`${STEP}_pixel_values.npy`);
    const [N, C, H, W] = pixels.shape;
    const image = permuteCpu(pixels.data, pixels.shape, { view: pixels.shape, perm: [0, 2, 3, 1], shape: [N, H, W, C] });
    const labels = Uint32Array.from(readNpy(`${STEP}_labels.npy`).data);

    const canonical = buildMobileVitDeepLab(cfg, { batch: N, height: H, width: W });
    const { graph, network } = lossGradientGraph(canonical, { inputGradient: false, statistics: true, skipMissing: true });

    const session = Session.create(ctx, canonical, params, 'mobilevit');
    const program = await Program.create(ctx, compile(graph, { mode: 'training' }), session, 'mobilevit');
    try {
      const got = await program.run({ image, labels });
      const lossRef = (JSON.parse(readFileSync(`${STEP}_loss.json`, 'utf8')) as { loss: number }).loss;
      const lossErr = Math.abs((got.get('loss') as Float32Array)[0] - lossRef) / lossRef;

      const refs = readNpz(`${STEP}_grads.npz`);
      const shapes = new Map(network.state.map((v) => [v.name, v.shape]));
      const names = [...refs.keys()];
      for (const name of names) expect(got.has(`grad:${name}`), `a gradient for ${name}`).to.equal(true);
      const ours = (name: string) => asFixture(got.get(`grad:${name}`) as Float32Array, shapes.get(name)!, refs.get(name)!.shape);
      // 0 in exact arithmetic: the 9 attention key biases (softmax ignores a constant per
      // query), and biases seen only through 1x1 convolutions into training-mode batch norms
      // (3 layer norms closing a block, 4 residuals' batch norms). They must be as small as
      // rounding noise, 1e-4 of a typical gradient.
      const { worst, zeros } = worstError(names, ours, (name) => refs.get(name)!.data, 'MobileViT', 1e-4);

      const after = readNpz(`${STEP}_bn_after.npz`);
      let statsErr = 0;
      for (const [name, ref] of after) statsErr = Math.max(statsErr, relativeError(got.get(`state:${name}`)!, ref.data));

      console.log(`      (loss rel. ${lossErr.toExponential(1)}, worst of ${names.length - zeros} parameter grads ${worst.err.toExponential(1)} (${worst.name}), ${zeros} exact zeros, running stats ${statsErr.toExponential(1)})`);
      expect(zeros, 'gradients 0 in exact arithmetic').to.equal(16);
      expect(lossErr, 'loss').to.be.lessThan(1e-5);
      // transformers' own float32 run lands 2.5e-4 from the float64 gradients at worst (README).
      expect(worst.err, `parameter gradient ${worst.name}`).to.be.lessThan(1e-3);
      expect(statsErr, 'running statistics').to.be.lessThan(1e-4);
    } finally {
      program.dispose();
      session.dispose();
    }
  });
});
