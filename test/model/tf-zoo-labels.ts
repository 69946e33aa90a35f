// The TF zoo tests' pipeline check through the calls a user makes: a zoo file loaded by path
// (loadModel, with the options given), a fixture's uint8 image segmented (segment()), its labels
// compared with TF's `labels_<case>.npy` from the same fixture folder.
import { join } from 'node:path';
import type { LoadOptions } from '../../src/model/loading/options.js';
import { loadModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { testContext } from '../helpers.js';

export interface ZooCase {
  name: string;
  height: number;
  width: number;
}

/** For each case, the share of pixels whose label equals TF's (printed with the case's name), from one model of the file. */
export async function zooLabelAgreement(path: string, opts: LoadOptions, dir: string, cases: readonly ZooCase[]): Promise<number[]> {
  const model = await loadModel(path, { ...opts, ctx: await testContext() });
  try {
    const shares: number[] = [];
    for (const c of cases) {
      const img = readNpy(join(dir, `image_${c.height}x${c.width}.npy`));
      const result = await model.segment({ width: c.width, height: c.height, data: Uint8Array.from(img.data) });
      const ref = readNpy(join(dir, `labels_${c.name}.npy`)).data;
      if (ref.length !== result.classes.length) throw new Error(`${c.name}: ${result.classes.length} labels for TF's ${ref.length}`);
      let same = 0;
      for (let i = 0; i < ref.length; i++) if (result.classes[i] === ref[i]) same++;
      console.log(`      (${c.name}: ${((100 * same) / ref.length).toFixed(2)} % of labels equal TF's)`);
      shares.push(same / ref.length);
    }
    return shares;
  } finally {
    model.dispose();
  }
}
