// The TF zoo tests' pipeline check: a loaded zoo model segments a fixture's uint8 image as the
// zoo's graph does (the crop at the image's size), and its labels are compared with TF's
// `labels_<case>.npy` from the same fixture folder.
import { join } from 'node:path';
import type { LoadedWeights } from '../../src/model/loading/load-weights.js';
import { DeepLabModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { testContext } from '../helpers.js';

export interface ZooCase {
  name: string;
  height: number;
  width: number;
}

/** The share of pixels whose label equals TF's, printed with the case's name. */
export async function zooLabelAgreement(weights: LoadedWeights, dir: string, c: ZooCase): Promise<number> {
  // The zoo's graph takes the image at its crop size; here the crop is the image's.
  const w: LoadedWeights = { ...weights, inputPolicy: { kind: 'fixed', height: c.height, width: c.width }, probeSize: [c.width, c.height] };
  const model = await DeepLabModel.fromWeights(w, { ctx: await testContext() });
  try {
    const img = readNpy(join(dir, `image_${c.height}x${c.width}.npy`));
    const result = await model.segment({ width: c.width, height: c.height, data: Uint8Array.from(img.data) });
    const ref = readNpy(join(dir, `labels_${c.name}.npy`)).data;
    if (ref.length !== result.classes.length) throw new Error(`${c.name}: ${result.classes.length} labels for TF's ${ref.length}`);
    let same = 0;
    for (let i = 0; i < ref.length; i++) if (result.classes[i] === ref[i]) same++;
    console.log(`      (${c.name}: ${((100 * same) / ref.length).toFixed(2)} % of labels equal TF's)`);
    return same / ref.length;
  } finally {
    model.dispose();
  }
}
