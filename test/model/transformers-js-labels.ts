// transformers.js itself (@huggingface/transformers in Node, onnxruntime-node under it) labelling
// photos with a local transformers.js folder, as its users run one: remote models off, the
// folder's parent as the local model path, dtype 'fp32'. Through its image-segmentation pipeline
// where it has a semantic-segmentation class for the folder's model_type (4.3.1: SegFormer, Swin
// and the MobileNets); else through the steps that pipeline runs, for DPT, UperNet and MobileViT,
// which it has none for: AutoProcessor (the folder's image processor), AutoModel (the model type's
// base class, which runs onnx/model.onnx) and transformers.js' post_process_semantic_segmentation
// (its one function of that name, image_processors_utils.js, which the pipeline calls through
// SegFormer's processor; DPT's and MobileViT's processors there lack the method).
import { basename, dirname, resolve } from 'node:path';
import type { RgbImage } from '../../src/io/rgb-image.js';

type Transformers = typeof import('@huggingface/transformers');

/** How transformers.js runs a folder: its pipeline, or the pipeline's steps where the pipeline has no class for the model type. */
export type TransformersJsRoute = 'pipeline' | 'steps';

/** Pixels no mask of the pipeline covers. */
export const UNLABELLED = 255;

interface Segment {
  label: string | null;
  mask: { data: Uint8ClampedArray | Uint8Array; width: number; height: number };
}

/** Each photo's label map (class ids by config.json's id2label) as transformers.js gives it for the folder. */
export async function transformersJsLabels(folder: string, photos: readonly RgbImage[], route: TransformersJsRoute): Promise<Uint8Array[]> {
  const t: Transformers = await import('@huggingface/transformers');
  const saved = { allowRemoteModels: t.env.allowRemoteModels, allowLocalModels: t.env.allowLocalModels, localModelPath: t.env.localModelPath };
  Object.assign(t.env, { allowRemoteModels: false, allowLocalModels: true, localModelPath: `${dirname(resolve(folder))}/` });
  const name = basename(folder);
  const raw = (p: RgbImage) => new t.RawImage(new Uint8ClampedArray(p.data), p.width, p.height, 3);
  try {
    if (route === 'pipeline') {
      const segmenter = await t.pipeline('image-segmentation', name, { dtype: 'fp32', local_files_only: true });
      try {
        const ids = new Map(Object.entries((segmenter.model.config as unknown as { id2label: Record<string, string> }).id2label).map(([id, label]) => [label, Number(id)]));
        const out: Uint8Array[] = [];
        for (const p of photos) {
          const segments = (await segmenter(raw(p))) as unknown as Segment[];
          const labels = new Uint8Array(p.width * p.height).fill(UNLABELLED);
          for (const { label, mask } of segments) {
            if (mask.width !== p.width || mask.height !== p.height) throw new Error(`transformers.js: a ${mask.width}x${mask.height} mask for a ${p.width}x${p.height} photo`);
            const id = ids.get(label ?? '');
            if (id === undefined) throw new Error(`transformers.js: label ${label} is not in id2label`);
            mask.data.forEach((v, i) => void (v === 255 && (labels[i] = id)));
          }
          out.push(labels);
        }
        return out;
      } finally {
        await segmenter.dispose();
      }
    }
    const processor = await t.AutoProcessor.from_pretrained(name, { local_files_only: true });
    const model = await t.AutoModel.from_pretrained(name, { dtype: 'fp32', local_files_only: true });
    try {
      const out: Uint8Array[] = [];
      for (const p of photos) {
        const inputs = await processor(raw(p));
        const outputs = await model(inputs);
        const [{ segmentation }] = t.SegformerImageProcessor.prototype.post_process_semantic_segmentation(outputs as never, [[p.height, p.width]]) as { segmentation: { data: Int32Array } }[];
        out.push(Uint8Array.from(segmentation.data));
      }
      return out;
    } finally {
      await model.dispose();
    }
  } finally {
    Object.assign(t.env, saved);
  }
}
