// torchvision's DeepLabv3 state dicts (a .pth, or safetensors as our export writes them) as
// LoadedWeights: torchvision's config for the backbone the tensors hold, its reference input
// pipeline (the short side resized to 520).
import { defaultClassSet } from '../voc.js';
import type { TensorMap } from '../weights/import/tensor-map.js';
import { torchvisionConfigFromState, torchvisionParams } from '../weights/torchvision.js';
import { type LoadedWeights, checkedWeights, loadedNetwork, scaledRates } from './loaded-weights.js';
import type { LoadOptions } from './options.js';

/** torchvision's reference evaluation resizes the short side to 520 (LoadOptions.shortSide overrides). */
export const TORCHVISION_SHORT_SIDE = 520;

/** A torchvision DeepLabv3 state dict as LoadedWeights, at the output stride and short side `opts` ask for. */
export function torchvisionModel(name: string, state: TensorMap, opts: LoadOptions): LoadedWeights {
  const base = torchvisionConfigFromState(state, {}, name);
  const outputStride = opts.outputStride ?? base.outputStride;
  const config = torchvisionConfigFromState(
    state,
    { outputStride, asppRates: opts.asppRates ?? scaledRates(base.asppRates, base.outputStride, outputStride), aux: false },
    name,
  );
  const shortSide = opts.shortSide ?? TORCHVISION_SHORT_SIDE;
  const w: LoadedWeights = {
    name,
    config,
    ...loadedNetwork(config),
    inputPolicy: { kind: 'short-side', size: shortSide },
    params: torchvisionParams(state, config),
    probeSize: [shortSide, shortSide],
    classes: defaultClassSet(config.numClasses),
  };
  return checkedWeights(w, name);
}
