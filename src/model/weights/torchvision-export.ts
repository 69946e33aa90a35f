// Our weights of a torchvision architecture as the state dict torchvision's deeplabv3_* loads:
// torchvision's names (ours already are), convolutions back to [O,I,KH,KW], and the
// `num_batches_tracked` counter that every BatchNorm2d of a strict load_state_dict expects.
import { safetensorsBytes, writeSafetensors } from './import/safetensors.js';
import type { TensorMap } from './import/tensor-map.js';
import type { HostParams } from '../../graph/params.js';
import type { LoadedWeights } from '../loading/load-weights.js';
import { backboneRecord } from '../backbones/registry.js';
import { headRecord } from '../networks/heads.js';
import { hwioToOihw } from './layouts.js';

/** The state dict; `batchesTracked` is what each BN's counter says (the training steps, or 0). */
export function torchvisionStateDict(w: LoadedWeights, params: HostParams, batchesTracked = 0): TensorMap {
  const support = backboneRecord(w.config.backbone).export;
  if (!support.torchvision) throw new Error(`${w.name}: ${support.why}`);
  if (w.config.head === 'mmseg') {
    throw new Error(`${w.name}: an mmseg DeepLabv3 has no torchvision counterpart; export it as ONNX, or keep it in our checkpoint format (its weights are mmseg's .pth already)`);
  }
  if (w.config.head !== 'torchvision') {
    // VainF's heads name their layers as torchvision's do not (classifier.classifier.*, classifier.aspp.*).
    throw new Error(`${w.name}: ${headRecord(w.config.head).title} has no torchvision counterpart; export it as ONNX, or keep it in our checkpoint format`);
  }
  if (w.config.decoder !== 'none') {
    throw new Error(`${w.name}: a DeepLabv3+ (decoder ${w.config.decoder}) has no torchvision counterpart; only DeepLabv3 models export to torchvision's state dict`);
  }
  const state: TensorMap = new Map();
  for (const [name, t] of params) {
    const { shape, data } = t.shape.length === 4 ? hwioToOihw(t.data, t.shape) : t;
    state.set(name, { shape: [...shape], data, sourceDType: 'f32' });
    if (name.endsWith('.running_var')) {
      state.set(name.replace(/running_var$/, 'num_batches_tracked'), { shape: [], data: Float32Array.of(batchesTracked), sourceDType: 'i64' });
    }
  }
  return state;
}

/**
 * Writes the state dict as safetensors (`safetensors.torch.load_file` then
 * `model.load_state_dict`), with the class names and colours in the metadata, where torch
 * ignores them and our loader reads them back.
 */
export function exportTorchvision(path: string, w: LoadedWeights, params: HostParams = w.params, batchesTracked = 0): void {
  writeSafetensors(path, torchvisionStateDict(w, params, batchesTracked), { format: 'pt', classes: JSON.stringify(w.classes) });
}

/** The bytes exportTorchvision writes (for a page's download). */
export function torchvisionFile(w: LoadedWeights, params: HostParams = w.params): Uint8Array {
  return safetensorsBytes(torchvisionStateDict(w, params), { format: 'pt', classes: JSON.stringify(w.classes) });
}
