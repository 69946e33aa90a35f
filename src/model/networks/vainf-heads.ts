// VainF/DeepLabV3Plus-Pytorch's heads (network/_deeplab.py), with its parameter names, so its
// `model_state` maps onto the graph by name.
//  - DeepLabHead (`decoder: 'none'`): `classifier.classifier` = Sequential(ASPP (.0), 3x3 conv
//    256 (.1) + BN (.2) + ReLU, 1x1 conv to the classes with bias (.4)): torchvision's
//    DeepLabHead one level deeper.
//  - DeepLabHeadV3Plus (`decoder: 'deeplabv3plus'`): the stride-4 features reduced to 48 channels
//    (`classifier.project.{0,1}` + ReLU); ASPP (`classifier.aspp`) resized (bilinear,
//    align_corners false) to their size; concatenated after them ([low, aspp], 304 channels);
//    `classifier.classifier` = 3x3 conv 256 (.0) + BN (.1) + ReLU, 1x1 conv with bias (.3).
// ASPP is torchvision's module (1x1, three 3x3 atrous branches, image pooling last, a 1x1
// projection, Dropout(0.1) in training). `convert_to_separable_conv` (config `asppSeparable`)
// makes every conv of kernel > 1 of the head an AtrousSeparableConvolution: `<conv>.body.0`
// depthwise and `<conv>.body.1` pointwise, neither with a bias; the BN after it keeps its name.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { type AsppLayout, TORCH_HEAD_BN_EPS, aspp, torchvisionAsppLayout } from './aspp.js';
import type { DeepLabConfig } from './config-types.js';
import type { BackboneFeatures } from './deeplab-types.js';
import { conv, convBnAct } from './layers.js';

/** Channels the stride-4 features are reduced to (DeepLabHeadV3Plus's `project`). */
const LOW_LEVEL_CHANNELS = 48;
/** ASPP's dropout after its projection (VainF's ASPP: Dropout(0.1)). */
const ASPP_DROPOUT = 0.1;

/** torchvision's ASPP names under `prefix`, each atrous branch's conv split as convert_to_separable_conv splits it. */
function vainfAsppLayout(prefix: string, numRates: number, separable: boolean): AsppLayout {
  const layout = torchvisionAsppLayout(prefix, numRates, true);
  if (!separable) return layout;
  return { ...layout, atrous: layout.atrous.map((a) => ({ conv: `${a.conv}.body.0`, pointwise: `${a.conv}.body.1`, bn: a.bn })) };
}

/** A 3x3 conv (no bias) -> BN -> ReLU, or its separable form: depthwise `.body.0`, pointwise `.body.1`, then the BN. */
function conv3x3BnRelu(b: GraphBuilder, x: Value, names: { conv: string; bn: string }, cout: number, separable: boolean): Value {
  const eps = TORCH_HEAD_BN_EPS;
  if (!separable) return convBnAct(b, x, { name: names.conv, bn: names.bn, kernel: 3, cout, eps, activation: 'relu' });
  const cin = x.shape[3];
  const d = conv(b, x, { name: `${names.conv}.body.0`, kernel: 3, cout: cin, groups: cin });
  return convBnAct(b, d, { name: `${names.conv}.body.1`, bn: names.bn, kernel: 1, cout, eps, activation: 'relu' });
}

/** VainF's DeepLabHead or DeepLabHeadV3Plus on `features`: logits at the features' size (the output stride, or 4 with the decoder). */
export function vainfHead(b: GraphBuilder, features: BackboneFeatures, cfg: DeepLabConfig, opts: { dropout?: boolean }): Value {
  const separable = cfg.asppSeparable ?? false;
  const C = cfg.asppChannels;
  const asppOpts = {
    rates: cfg.asppRates,
    imagePooling: true,
    channels: C,
    eps: TORCH_HEAD_BN_EPS,
    poolResizeMode: 'half_pixel' as const,
    dropout: opts.dropout ? ASPP_DROPOUT : 0,
  };
  if (cfg.decoder !== 'deeplabv3plus') {
    const p = 'classifier.classifier';
    const a = aspp(b, features.out, vainfAsppLayout(`${p}.0`, cfg.asppRates.length, separable), asppOpts);
    const y = conv3x3BnRelu(b, a, { conv: `${p}.1`, bn: `${p}.2` }, C, separable);
    return conv(b, y, { name: `${p}.4`, kernel: 1, cout: cfg.numClasses, bias: true });
  }
  const low = convBnAct(b, features.lowLevel, { name: 'classifier.project.0', bn: 'classifier.project.1', kernel: 1, cout: LOW_LEVEL_CHANNELS, eps: TORCH_HEAD_BN_EPS, activation: 'relu' });
  const a = aspp(b, features.out, vainfAsppLayout('classifier.aspp', cfg.asppRates.length, separable), asppOpts);
  const [, h, w] = low.shape;
  const up = b.resize('classifier.aspp_upsample', a, h, w, 'half_pixel');
  const cat = b.concat('classifier.concat', [low, up]);
  const y = conv3x3BnRelu(b, cat, { conv: 'classifier.classifier.0', bn: 'classifier.classifier.1' }, C, separable);
  return conv(b, y, { name: 'classifier.classifier.3', kernel: 1, cout: cfg.numClasses, bias: true });
}
