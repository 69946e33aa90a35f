// segmentation_models_pytorch folders against ../shared/fixtures/smp (its README says how they
// were made): each folder this engine builds loads from config.json and the PRNG's
// model.safetensors, and its logits match smp's float64 forward at both sizes.
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { loadModel } from '../../src/model/model.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { expectClose, testContext } from '../helpers.js';
import { nchwToNhwc } from './layout.js';
import { SMP_FOLDERS, readSmpManifest, smpFixture, writeSmpFolder } from './smp-fixture.js';

const SIZES = ['96x128', '64x64'] as const;

describe('smp folders: logits against smp float64', function () {
  this.timeout(300_000);
  for (const folder of SMP_FOLDERS) {
    const encoder = readSmpManifest(folder).encoderName;
    if (!Object.hasOwn(SMP_ENCODERS, encoder)) continue;
    it(`${folder}: loadModel(folder) gives smp's logits at ${SIZES.join(' and ')} (relative error < 1e-4)`, async () => {
      const { dir } = writeSmpFolder(folder);
      const model = await loadModel(dir, { ctx: await testContext() });
      try {
        for (const size of SIZES) {
          const x = readNpy(smpFixture(folder, `input_${size}.npy`));
          const ref = readNpy(smpFixture(folder, `logits_${size}.npy`));
          const [, c, h, w] = x.shape;
          expect(model.config.inChannels ?? 3, 'in_channels').to.equal(c);
          const out = await model.forwardToHost(nchwToNhwc(x.data, x.shape), h, w);
          expectClose(out, nchwToNhwc(ref.data, ref.shape), `${folder} ${size}`);
        }
      } finally {
        model.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
