// What an smp model's folder holds (smp-export.ts writes it; the page zips it): config.json (the
// constructor's arguments, keys sorted, 2-space indent, no final newline) and model.safetensors
// (no metadata; the I64 counters first, then the F32 tensors, each group by name in byte order, as
// safetensors' save_model orders them), with the tensors the file held that no graph reads
// (num_batches_tracked, an encoder's unused layers) as they were. No file system: the page
// bundles it.
import type { HostParams } from '../../graph/params.js';
import { pythonJson } from '../../util/python-json.js';
import { smpArchitectureOf } from '../backbones/smp.js';
import { smpEncoder } from '../backbones/smp-encoders.js';
import type { LoadedWeights } from '../loading/loaded-weights.js';
import { safetensorsBytes } from './import/safetensors.js';
import type { HostTensor, TensorMap } from './import/tensor-map.js';
import { smpFileFromParam } from './smp-layout.js';

/** config.json's object: every constructor argument, keys in Python's sorted order. */
export function smpConfigObject(w: LoadedWeights): Record<string, unknown> {
  const cfg = w.config;
  const a = smpArchitectureOf(w.architecture);
  const plus = cfg.decoder === 'deeplabv3plus';
  return {
    _model_class: plus ? 'DeepLabV3Plus' : 'DeepLabV3',
    activation: a.activation,
    aux_params: null,
    classes: cfg.binary ? 1 : cfg.numClasses,
    decoder_aspp_dropout: cfg.asppDropout ?? 0.5,
    decoder_aspp_separable: cfg.asppSeparable ?? false,
    decoder_atrous_rates: cfg.asppRates,
    decoder_channels: cfg.asppChannels,
    encoder_depth: a.depth,
    encoder_name: a.encoder,
    encoder_output_stride: cfg.outputStride,
    // The weights are all in the file: smp would otherwise fetch pretrained ones before loading it.
    encoder_weights: null,
    in_channels: cfg.inChannels ?? 3,
    upsampling: plus ? 4 : null,
  };
}

/** Byte order of UTF-8 names (safetensors sorts by the names' bytes, not UTF-16 units). */
function byBytes(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
const utf8 = new TextEncoder();

/** The state dict in smp's names and PyTorch's layouts, in save_model's order. */
export function smpStateDict(w: LoadedWeights, params: HostParams = w.params): TensorMap {
  const encoder = smpEncoder(smpArchitectureOf(w.architecture).encoder, w.name);
  const all = new Map<string, HostTensor>();
  for (const [name, t] of params) all.set(name, { ...smpFileFromParam(encoder, name, t), sourceDType: 'f32' });
  for (const [name, t] of w.unread ?? []) all.set(name, t);
  const isInt = (t: HostTensor) => t.sourceDType === 'i64';
  const names = [...all.keys()];
  const ordered = [...names.filter((n) => isInt(all.get(n)!)).sort(byBytes), ...names.filter((n) => !isInt(all.get(n)!)).sort(byBytes)];
  return new Map(ordered.map((n) => [n, all.get(n)!]));
}

/** Whether weights are an smp model's, or why they cannot be written as one. */
export function smpRefusal(w: LoadedWeights): string | undefined {
  return w.config.head === 'smp' ? undefined : `${w.name} is not an smp model (${w.config.backbone} with ${w.config.head}'s head): only models loaded from an smp folder, or fine-tuned from one, export to smp`;
}

/** The folder's files by name: config.json and model.safetensors (a model that is not smp's is refused, saying why). */
export function smpFolderFiles(w: LoadedWeights, params: HostParams = w.params): Map<string, Uint8Array> {
  const why = smpRefusal(w);
  if (why) throw new Error(why);
  return new Map([
    ['config.json', smpConfigJson(w)],
    ['model.safetensors', safetensorsBytes(smpStateDict(w, params))],
  ]);
}

/** config.json's bytes, as save_pretrained writes them. */
export function smpConfigJson(w: LoadedWeights): Uint8Array {
  return pythonJson(smpConfigObject(w), ['decoder_aspp_dropout'], { newline: false });
}
