// The types between a backbone's network and DeepLab's heads: the size a network is built at, the
// features a backbone hands the heads, and what the heads are told besides the config.
import type { Value } from '../../graph/ir.js';

export interface NetworkSize {
  /** Images per pass (default 1). */
  batch?: number;
  height: number;
  width: number;
}

/** The features the heads read. */
export interface BackboneFeatures {
  /** What ASPP reads (the last block's output). */
  out: Value;
  /** What the auxiliary FCN head reads. */
  aux: Value;
  /** Block4's output ('layer4' of extraOutputs; `out` without cascaded blocks). */
  layer4: Value;
  /** The stride-4 features DeepLabv3+'s decoder reads. */
  lowLevel: Value;
}

export interface HeadOptions {
  /** DeepLabv3+'s decoder with depthwise-separable convolutions (as on MobileNets). */
  separableDecoder: boolean;
  /** Also output 'layer4' and 'features'; mmseg heads add 'logits_raw' and 'aux_raw' (src/model/backbones/network.ts's NetworkOptions). */
  extraOutputs?: boolean;
  /** Training: the heads' dropout, seeded by the u32 input 'dropout_seed'. */
  dropout?: boolean;
}
