// TF DeepLab's Xception-65 (tensorflow/models research/deeplab core/xception.py, `xception_65`):
// the entry flow's two 3x3 convs, then six blocks of Xception modules. A module is three
// separable convs (depthwise 3x3 + BN, pointwise 1x1 + BN, split as TF DeepLab's zoo files hold
// them: `separable_convN_depthwise`, `separable_convN_pointwise`) and a skip connection: a 1x1
// conv + BN ('conv'), the input ('sum') or none. Every module but the last has ReLU *before* each
// separable conv and none inside (`activation_fn_in_separable_conv=False`); the exit flow's
// block2 has ReLU after each BN instead, and no skip. A block's stride sits on its third separable
// conv and its shortcut.
//
// Output stride: past the requested stride a block runs at stride 1 and later blocks are dilated
// (stack_blocks_dense: the block whose stride is removed keeps the current rate, the rate is
// multiplied for the blocks after it); exit_flow/block2's three convs take the multi-grid's unit
// rates. TF pads a strided conv explicitly (fixed_padding: (k-1)/2 each side, then VALID) and
// uses 'SAME' at stride 1; with 3x3 kernels both are our symmetric padding of dilation pixels,
// and a strided 1x1 shortcut pads nothing. Batch norms stay their own ops (TF's eps 1e-3), so
// compile folds them for inference and training keeps them.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { TF_NAMING, convBnAct } from './layers.js';

/** The scope every variable of the backbone is under. */
export const XCEPTION_SCOPE = 'xception_65';
/** Batch-norm eps of the backbone (feature_extractor.py's xception arg scope). */
export const XCEPTION_BN_EPS = 1e-3;

type Skip = 'conv' | 'sum' | 'none';

interface XceptionBlock {
  scope: string;
  depths: [number, number, number];
  skip: Skip;
  /** ReLU after each BN of the separable convs, none before them (exit_flow/block2). */
  activationInside: boolean;
  units: number;
  stride: number;
}

const BLOCKS: readonly XceptionBlock[] = [
  { scope: 'entry_flow/block1', depths: [128, 128, 128], skip: 'conv', activationInside: false, units: 1, stride: 2 },
  { scope: 'entry_flow/block2', depths: [256, 256, 256], skip: 'conv', activationInside: false, units: 1, stride: 2 },
  { scope: 'entry_flow/block3', depths: [728, 728, 728], skip: 'conv', activationInside: false, units: 1, stride: 2 },
  { scope: 'middle_flow/block1', depths: [728, 728, 728], skip: 'sum', activationInside: false, units: 16, stride: 1 },
  { scope: 'exit_flow/block1', depths: [728, 1024, 1024], skip: 'conv', activationInside: false, units: 1, stride: 2 },
  { scope: 'exit_flow/block2', depths: [1536, 1536, 2048], skip: 'none', activationInside: true, units: 1, stride: 1 },
];

/** TF DeepLab's decoder end point: entry_flow/block2's second pointwise conv (stride 4, 256 channels, before the ReLU the next conv applies). */
const LOW_LEVEL = 'entry_flow/block2/unit_1/xception_module/separable_conv2_pointwise';

export interface XceptionOptions {
  outputStride: number;
  /** Unit rates of exit_flow/block2's three separable convs (TF's multi_grid; default 1, 1, 1). */
  multiGrid?: readonly number[];
}

export interface XceptionFeatures {
  /** exit_flow/block2's output at the output stride (2048 channels). */
  out: Value;
  /** The stride-4 features DeepLabv3+'s decoder reads. */
  lowLevel: Value;
}

/** The (stride, rate) of each unit, in order, for an output stride: TF's stack_blocks_dense after the stem's stride 2. */
export function xceptionUnitStrides(outputStride: number): { stride: number; rate: number }[] {
  if (![8, 16, 32].includes(outputStride)) throw new Error(`xception_65: output stride must be 8, 16 or 32, got ${outputStride}`);
  const target = outputStride / 2;
  let current = 1;
  let rate = 1;
  const out: { stride: number; rate: number }[] = [];
  for (const block of BLOCKS) {
    for (let u = 0; u < block.units; u++) {
      if (current === target) {
        out.push({ stride: 1, rate });
        rate *= block.stride;
      } else {
        out.push({ stride: block.stride, rate: 1 });
        current *= block.stride;
      }
    }
  }
  return out;
}

/** Xception-65 on `image` [N,H,W,3] (in [-1, 1]): its features at the output stride and at stride 4. */
export function buildXception65(b: GraphBuilder, image: Value, o: XceptionOptions): XceptionFeatures {
  const multiGrid = o.multiGrid ?? [1, 1, 1];
  const bn = (scope: string) => ({ bn: `${scope}/BatchNorm`, eps: XCEPTION_BN_EPS });
  const convUnit = (x: Value, scope: string, kernel: number, cout: number, stride: number, activation: 'relu' | 'none', depthwise = false, dilation = 1) =>
    convBnAct(b, x, { name: scope, kernel, cout: depthwise ? x.shape[3] : cout, groups: depthwise ? x.shape[3] : 1, stride, dilation, activation, ...bn(scope) }, TF_NAMING);
  let x = convUnit(image, `${XCEPTION_SCOPE}/entry_flow/conv1_1`, 3, 32, 2, 'relu');
  x = convUnit(x, `${XCEPTION_SCOPE}/entry_flow/conv1_2`, 3, 64, 1, 'relu');
  const plan = xceptionUnitStrides(o.outputStride);
  let lowLevel: Value | undefined;
  let unitIndex = 0;
  for (const block of BLOCKS) {
    for (let u = 0; u < block.units; u++) {
      const { stride, rate } = plan[unitIndex++];
      const module = `${XCEPTION_SCOPE}/${block.scope}/unit_${u + 1}/xception_module`;
      const inputs = x;
      let h = inputs;
      const inside = block.activationInside ? 'relu' : 'none';
      for (let i = 0; i < 3; i++) {
        const scope = `${module}/separable_conv${i + 1}`;
        if (!block.activationInside) h = b.activation(`${scope}/relu`, h, 'relu');
        const dilation = rate * (block.scope === 'exit_flow/block2' ? multiGrid[i] : 1);
        h = convUnit(h, `${scope}_depthwise`, 3, 0, i === 2 ? stride : 1, inside, true, dilation);
        h = convUnit(h, `${scope}_pointwise`, 1, block.depths[i], 1, inside);
        if (`${block.scope}/unit_${u + 1}/xception_module/separable_conv${i + 1}_pointwise` === LOW_LEVEL) lowLevel = h;
      }
      if (block.skip === 'conv') x = b.addValues(`${module}/add`, h, convUnit(inputs, `${module}/shortcut`, 1, block.depths[2], stride, 'none'));
      else if (block.skip === 'sum') x = b.addValues(`${module}/add`, h, inputs);
      else x = h;
    }
  }
  return { out: x, lowLevel: lowLevel! };
}
