// VainF/DeepLabV3Plus-Pytorch's checkpoints (best_deeplabv3plus_mobilenet_voc_os16.pth, ...):
// recognising their `model_state` and reading the network it holds from its keys and shapes.
// The keys are those of VainF's DeepLabV3: `backbone.*` (torchvision's ResNet through
// IntermediateLayerGetter, or VainF's MobileNetV2 split into `low_level_features` and
// `high_level_features`) and `classifier.*` (src/model/networks/vainf-heads.ts). The keys tell
// the backbone, DeepLabv3 from DeepLabv3+, the classes and `--separable_conv`; the output stride
// they cannot tell (src/model/loading/vainf-model.ts decides it).
import type { HostParams } from '../../graph/params.js';
import { backboneRecords } from '../backbones/registry.js';
import type { BackboneName, DecoderName } from '../networks/config-types.js';
import { oihwToHwio } from './layouts.js';
import type { StateDict } from './torchvision.js';
import { checkStateDictValues } from './weight-checks.js';

/** The ASPP 1x1 branch of each of VainF's heads: DeepLabHeadV3Plus's, DeepLabHead's. */
const PLUS_MARKER = 'classifier.aspp.convs.0.0.weight';
const V3_MARKER = 'classifier.classifier.0.convs.0.0.weight';

/** Whether a state dict is VainF's DeepLabV3 (backbone.* and one of its heads' ASPP). */
export function isVainfDeepLab(state: StateDict): boolean {
  return (state.has(PLUS_MARKER) || state.has(V3_MARKER)) && [...state.keys()].some((k) => k.startsWith('backbone.'));
}

/** What VainF's keys say of its network. */
export interface VainfNetwork {
  backbone: BackboneName;
  decoder: DecoderName;
  numClasses: number;
  /** Whether its head went through convert_to_separable_conv (`--separable_conv`). */
  separable: boolean;
  /** VainF's name of the model (`deeplabv3plus_mobilenet`, ...), for messages. */
  model: string;
}

/** VainF's model-function suffix of each backbone it builds on. */
const VAINF_BACKBONES: Partial<Record<BackboneName, string>> = { vainf_mobilenet_v2: 'mobilenet', resnet50: 'resnet50', resnet101: 'resnet101' };

/** The network a VainF state dict holds; what it lacks is named. */
export function vainfNetwork(state: StateDict, what = 'checkpoint'): VainfNetwork {
  if (!isVainfDeepLab(state)) {
    throw new Error(`${what}: not a VainF DeepLabV3 checkpoint: no backbone.* tensors with ${PLUS_MARKER} (DeepLabHeadV3Plus) or ${V3_MARKER} (DeepLabHead)`);
  }
  const record = backboneRecords().find((r) => r.weights.vainf?.holds(state));
  if (!record) {
    const blocks = [...state.keys()].filter((k) => /^backbone\.layer3\.\d+\.conv1\.weight$/.test(k)).length;
    const seen = state.has('backbone.conv1.weight') ? `a ResNet with ${blocks} blocks in layer3` : `backbone keys such as ${[...state.keys()].find((k) => k.startsWith('backbone.'))}`;
    throw new Error(`${what}: VainF DeepLabV3 checkpoint of a backbone we do not build (${seen}); VainF's MobileNetV2, ResNet-50 and ResNet-101 load (not its HRNetV2 or Xception)`);
  }
  const decoder: DecoderName = state.has(PLUS_MARKER) ? 'deeplabv3plus' : 'none';
  const logitsKey = decoder === 'deeplabv3plus' ? 'classifier.classifier.3.weight' : 'classifier.classifier.4.weight';
  const logits = state.get(logitsKey);
  if (!logits || logits.shape.length !== 4) throw new Error(`${what}: VainF ${decoder === 'none' ? 'DeepLabHead' : 'DeepLabHeadV3Plus'} without its classifier's last conv ${logitsKey} (4-D), which gives the classes`);
  const separable = state.has(decoder === 'deeplabv3plus' ? 'classifier.aspp.convs.1.0.body.0.weight' : 'classifier.classifier.0.convs.1.0.body.0.weight');
  return { backbone: record.name, decoder, numClasses: logits.shape[0], separable, model: `deeplabv3${decoder === 'none' ? '' : 'plus'}_${VAINF_BACKBONES[record.name] ?? record.name}` };
}

/**
 * A VainF state dict as our params (its values checked): conv weights to HWIO,
 * num_batches_tracked dropped, every other tensor kept under its name, so checkParams reports
 * anything missing, extra or mis-shaped.
 */
export function vainfParams(state: StateDict, what = 'checkpoint'): HostParams {
  checkStateDictValues(state, what);
  const params: HostParams = new Map();
  for (const [name, t] of state) {
    if (name.endsWith('.num_batches_tracked')) continue;
    params.set(name, t.shape.length === 4 ? oihwToHwio(t.data, t.shape) : { shape: [...t.shape], data: t.data });
  }
  return params;
}
