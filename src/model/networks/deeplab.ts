// DeepLab's heads on a backbone's features: the config's head record (src/model/networks/heads.ts:
// torchvision's, mmseg's or smp's), and the logits resized to the input. buildDeepLab (src/model/backbones/network.ts) builds the backbone from its
// record and puts these on it. The graph is canonical (nothing fused): src/graph/compile.ts
// prepares it for inference or training.
import type { GraphBuilder } from '../../graph/builder.js';
import type { DeepLabConfig } from './config.js';
import type { BackboneFeatures, HeadOptions } from './deeplab-types.js';
import { headRecord } from './heads.js';

export type { BackboneFeatures, HeadOptions, NetworkSize } from './deeplab-types.js';

/** The heads `cfg` names on `features`, their logits (and 'aux') as outputs of `b`, resized to height x width. */
export function deepLabHeads(b: GraphBuilder, features: BackboneFeatures, cfg: DeepLabConfig, size: { height: number; width: number }, opts: HeadOptions): void {
  headRecord(cfg.head).build(b, features, cfg, size, opts);
}
