// transformers.js (@huggingface/transformers) as a peer of the browser benchmark's page
// (bench/browser-page.ts): a Hugging Face hub model as a transformers.js user runs it, read from
// a local hub folder the Node side serves at /hub/<case>/ (config.json and
// preprocessor_config.json of the hub folder, our ONNX export of its weights as onnx/model.onnx),
// with remote models off. Nothing is fetched from outside the page's server.
//
// transformers.js' image-segmentation pipeline takes MobileNetV2 DeepLabV3 but has no MobileViT
// semantic-segmentation class (4.x maps `mobilevit` to its classifier and its bare model only), so
// both models run through `AutoModel`, the class every pipeline calls: the ONNX session on the
// WebGPU device, fed the same normalised input as every other engine, its logits read back.

type Transformers = typeof import('@huggingface/transformers');

/** The script's path on the bench server: its self-contained browser build. */
const SCRIPT = '/transformers/transformers.min.js';

let library: Transformers | null = null;

/** Loads transformers.js and points it at the page's server only; returns its version. */
export async function startTransformers(): Promise<string> {
  const url = SCRIPT; // a variable: the bundler is not to resolve it
  const t = (await import(url)) as Transformers;
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = '/hub/';
  // The WebAssembly of its ONNX Runtime, served beside the script (not from a CDN).
  const wasm = t.env.backends.onnx.wasm;
  if (wasm) wasm.wasmPaths = '/transformers/';
  library = t;
  return t.env.version;
}

/** The library startTransformers loaded. */
export function transformersLibrary(): Transformers {
  if (!library) throw new Error('transformers.js was not started');
  return library;
}

export interface TransformersModel {
  /** One pass: NCHW input in, NCHW logits out. */
  run(nchw: Float32Array, height: number, width: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** The hub folder /hub/<name>/ as transformers.js' AutoModel on WebGPU, in float32. */
export async function openTransformersModel(name: string): Promise<TransformersModel> {
  const t = library;
  if (!t) throw new Error('transformers.js was not started');
  const model = await t.AutoModel.from_pretrained(name, { device: 'webgpu', dtype: 'fp32' });
  return {
    async run(nchw, height, width) {
      // Our export names its input 'image' and its output 'logits'; transformers.js feeds the
      // session every input it names.
      const out = (await model({ image: new t.Tensor('float32', nchw, [1, 3, height, width]) })) as Record<string, { data: unknown }>;
      const logits = out.logits?.data;
      if (!(logits instanceof Float32Array)) throw new Error(`transformers.js: ${name} gave no float32 logits (outputs: ${Object.keys(out).join(', ')})`);
      return logits;
    },
    dispose: () => model.dispose().then(() => undefined),
  };
}
