// timm's ConvNeXt (convnext.py) as smp's `tu-convnext_*` encoders (TimmUniversalEncoder:
// features_only, flattened, keys under `encoder.model.`: `stem_0`, `stem_1`, `stages_{s}`).
//
// The network: a patch stem (4x4 conv, stride 4, with bias; LayerNorm over channels), then four
// stages. Stages 2..4 start with a downsample (LayerNorm, 2x2 conv stride 2 with bias). A block:
// 7x7 depthwise conv with bias, LayerNorm over channels (eps 1e-6), fc1 (C -> 4C) with exact
// GELU, fc2 (4C -> C), the layer scale `gamma` per channel, the residual added. atto..nano run
// the MLP as 1x1 convs (conv_mlp: file weights [out, in, 1, 1]); tiny and up as Linear layers
// ([out, in], run here as 1x1 convs). Layer scale runs as a 1x1 depthwise conv whose weight is
// gamma (file [C], HWIO [1, 1, 1, C]).
//
// timm's output_stride: a stage that would stride the net past the output stride runs at stride 1
// with twice the previous dilation; its downsample is then a 2x2 conv at stride 1 with dilation
// 1 where the stage's rate is 2, else 2 (first_dilation), 'same' padded: at dilation 1 timm pads
// dynamically (0 before, 1 after: the bottom row and right column), at dilation 2 statically (1
// each side). The blocks' depthwise convs take the stage's rate, padding 3 * rate.
// Features (feature_info): /4, /8, /16, /32; smp hands on an empty /2 before them.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { conv } from './layers.js';

export interface ConvNeXtSpec {
  depths: readonly number[];
  dims: readonly number[];
  /** The MLP as 1x1 convs (timm's conv_mlp) rather than Linear layers. */
  convMlp: boolean;
}

const spec = (depths: number[], dims: number[], convMlp: boolean): ConvNeXtSpec => ({ depths, dims, convMlp });

/** timm's convnext_* model_args (the plain patch-stem LayerNorm variants). */
export const CONVNEXT_SPECS = {
  convnext_atto: spec([2, 2, 6, 2], [40, 80, 160, 320], true),
  convnext_femto: spec([2, 2, 6, 2], [48, 96, 192, 384], true),
  convnext_pico: spec([2, 2, 6, 2], [64, 128, 256, 512], true),
  convnext_nano: spec([2, 2, 8, 2], [80, 160, 320, 640], true),
  convnext_tiny: spec([3, 3, 9, 3], [96, 192, 384, 768], false),
  convnext_small: spec([3, 3, 27, 3], [96, 192, 384, 768], false),
  convnext_base: spec([3, 3, 27, 3], [128, 256, 512, 1024], false),
  convnext_large: spec([3, 3, 27, 3], [192, 384, 768, 1536], false),
  convnext_xlarge: spec([3, 3, 27, 3], [256, 512, 1024, 2048], false),
} as const satisfies Record<string, ConvNeXtSpec>;

export type ConvNeXtName = keyof typeof CONVNEXT_SPECS;

const LN_EPS = 1e-6;
const MLP_RATIO = 4;

export interface SmpConvNeXtOptions {
  name: ConvNeXtName;
  outputStride: number;
  /** smp's encoder_depth (3..5): stages built are depth - 1. */
  depth: number;
  /** State-dict prefix: 'encoder.model'. */
  prefix: string;
}

function layerNorm(b: GraphBuilder, x: Value, p: string): Value {
  const c = x.shape[3];
  return b.layerNorm(p, x, { gamma: b.param(`${p}.weight`, [c]), beta: b.param(`${p}.bias`, [c]) }, { eps: LN_EPS });
}

/** A stage's stride, its rate, and its downsample's dilation (ConvNeXt.__init__'s loop). */
export interface ConvNeXtStageGeometry {
  stride: number;
  rate: number;
  firstDilation: number;
}

export function convnextGeometry(outputStride: number): ConvNeXtStageGeometry[] {
  let current = 4;
  let rate = 1;
  return [0, 1, 2, 3].map((i) => {
    let stride = i > 0 ? 2 : 1;
    if (current >= outputStride && stride > 1) {
      rate *= stride;
      stride = 1;
    }
    current *= stride;
    return { stride, rate, firstDilation: rate === 1 || rate === 2 ? 1 : 2 };
  });
}

/** Stage s > 0's downsample: LayerNorm, then a 2x2 conv (stride 2, or 'same' at stride 1 where dilated). */
function downsample(b: GraphBuilder, x: Value, p: string, cout: number, g: ConvNeXtStageGeometry): Value {
  let y = layerNorm(b, x, `${p}.0`);
  if (g.rate > 1 && g.firstDilation === 1) y = b.pad(`${p}.same`, y, { top: 0, bottom: 1, left: 0, right: 1 });
  const padding = g.rate > 1 && g.firstDilation === 2 ? 1 : 0;
  return conv(b, y, { name: `${p}.1`, kernel: 2, cout, bias: true, stride: g.stride, dilation: g.firstDilation, padding });
}

function block(b: GraphBuilder, x: Value, p: string, rate: number): Value {
  const C = x.shape[3];
  let y = conv(b, x, { name: `${p}.conv_dw`, kernel: 7, cout: C, groups: C, bias: true, dilation: rate, padding: 3 * rate });
  y = layerNorm(b, y, `${p}.norm`);
  y = conv(b, y, { name: `${p}.mlp.fc1`, kernel: 1, cout: MLP_RATIO * C, bias: true, activation: 'gelu' });
  y = conv(b, y, { name: `${p}.mlp.fc2`, kernel: 1, cout: C, bias: true });
  // Layer scale: x * gamma per channel, as a 1x1 depthwise conv whose weight is gamma.
  y = b.conv2d(`${p}.gamma`, y, b.param(`${p}.gamma`, [1, 1, 1, C]), { groups: C, padding: 0 });
  return b.addValues(`${p}.residual`, x, y);
}

/**
 * The encoder on an NHWC image: its stage outputs at /4, /8, /16, /32 (as many as depth - 1).
 * smp hands on an empty /2 feature before them; the caller (smp-encoders.ts) places it.
 */
export function buildSmpConvNeXt(b: GraphBuilder, image: Value, o: SmpConvNeXtOptions): Value[] {
  const s: ConvNeXtSpec = CONVNEXT_SPECS[o.name];
  const p = o.prefix;
  let x = conv(b, image, { name: `${p}.stem_0`, kernel: 4, cout: s.dims[0], bias: true, stride: 4, padding: 0 });
  x = layerNorm(b, x, `${p}.stem_1`);
  const features: Value[] = [];
  convnextGeometry(o.outputStride)
    .slice(0, o.depth - 1)
    .forEach((g, i) => {
      if (i > 0) x = downsample(b, x, `${p}.stages_${i}.downsample`, s.dims[i], g);
      for (let k = 0; k < s.depths[i]; k++) x = block(b, x, `${p}.stages_${i}.blocks.${k}`, g.rate);
      features.push(x);
    });
  return features;
}

/** Its Linear layers (tiny and up: the MLP's [out, in] weights), run as 1x1 convs. */
export function convnextLinear(name: ConvNeXtName, key: string): boolean {
  return !CONVNEXT_SPECS[name].convMlp && /\.stages_\d\.blocks\.\d+\.mlp\.fc[12]\.weight$/.test(key);
}
