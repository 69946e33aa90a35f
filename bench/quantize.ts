// Quantized checkpoints against f32 for one model with real weights (the runner's `quantize`
// part): each checkpoint's file size, and on the VOC sample the share of pixels whose class
// equals the f32 model's and the mIoU (src/eval/voc.ts). The quantized models load as users load
// them: from the file, widened on the GPU.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpuContext } from '../src/gpu/context.js';
import { listVocSplit } from '../src/data/formats/voc-split.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from '../src/model/loading/load-weights.js';
import { type Quantization, QUANTIZATIONS } from '../src/model/weights/quantize.js';
import { classify } from './precision.js';

export interface QuantizeRow {
  quantization: 'none' | Quantization;
  fileBytes: number;
  /** VOC-sample mIoU (present classes). */
  mIoU: number;
  /** Pixels whose class equals the f32 checkpoint's (null for that one). */
  agreementWithF32: number | null;
}

export async function benchQuantize(ctx: GpuContext, weights: LoadedWeights, vocDir: string): Promise<QuantizeRow[]> {
  const items = listVocSplit(vocDir, 'val');
  const dir = mkdtempSync(join(tmpdir(), 'deeplab-bench-quantize-'));
  try {
    const rows: QuantizeRow[] = [];
    let reference: Uint8Array[] | null = null;
    for (const quantization of ['none', ...QUANTIZATIONS] as const) {
      const path = join(dir, `${quantization}.safetensors`);
      saveCheckpoint(path, weights, weights.params, quantization === 'none' ? {} : { quantize: quantization });
      const { maps, mIoU } = await classify(ctx, await loadWeights(path), items, 'f32');
      let agreementWithF32: number | null = null;
      if (reference) {
        let same = 0;
        let total = 0;
        maps.forEach((m, i) => {
          for (let p = 0; p < m.length; p++) if (m[p] === reference![i][p]) same++;
          total += m.length;
        });
        agreementWithF32 = same / total;
      } else {
        reference = maps;
      }
      rows.push({ quantization, fileBytes: statSync(path).size, mIoU, agreementWithF32 });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
