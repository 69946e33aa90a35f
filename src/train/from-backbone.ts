// A DeepLabv3 to fine-tune from a torchvision classification checkpoint (`deeplab train
// --backbone-weights FILE`), as torchvision's deeplabv3_resnet50 / _resnet101 /
// _mobilenet_v3_large build one from `weights_backbone`: the backbone's tensors from the file,
// its classification head dropped, and the segmentation head (ASPP, the 3x3 conv, the
// classifier, and whatever else the config adds) initialised as PyTorch initialises new layers
// (torchvision's DeepLabHead keeps PyTorch's defaults). No auxiliary head: torchvision's
// builders leave it out unless asked (aux_loss) when no DeepLabv3 weights are given.
import { readFileBytes } from '../io/file-bytes.js';
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { checkParams, storedState } from '../graph/params.js';
import { detectWeightFormat, weightFormats } from '../model/loading/formats/registry.js';
import { loadedNetwork, probeNetworkSize } from '../model/loading/loaded-weights.js';
import { type LoadedWeights, TORCHVISION_SHORT_SIDE, scaledRates } from '../model/loading/weights-from-bytes.js';
import type { DeepLabConfig } from '../model/networks/config.js';
import { defaultConfig } from '../model/backbones/config.js';
import type { ClassSet } from '../model/voc.js';
import type { StateDict } from '../model/weights/torchvision.js';
import { type ClassificationBackbone, classificationBackboneParams, detectClassificationBackbone } from '../model/weights/torchvision-classification.js';
import { Rng } from '../util/random.js';
import { freshTensor } from './adapt.js';

export interface BackboneStartOptions {
  /** The network the file must hold (default: whichever of the three it holds). */
  backbone?: ClassificationBackbone;
  /** The classes to segment: the classifier's outputs. */
  classes: ClassSet;
  /** Output stride (default torchvision's: 8 for the ResNets, 16 for MobileNetV3). */
  outputStride?: number;
  /** Seed of the head's initialisation. */
  seed: number;
  /**
   * Other network settings over torchvision's defaults (ASPP rates, another head); parameters
   * they add outside the backbone are initialised like the rest of the head.
   */
  config?: Partial<DeepLabConfig>;
}

export interface FromBackbone {
  weights: LoadedWeights;
  backbone: ClassificationBackbone;
  /** The file's tensors left out: the classification head and BN step counters. */
  dropped: string[];
  /** The parameters initialised afresh: everything outside the backbone. */
  initialised: string[];
}

/**
 * The network: torchvision's DeepLabv3 config for the backbone at `outputStride`, its ASPP
 * rates scaled from torchvision's (12, 24, 36 at its own stride: 6, 12, 18 for a ResNet at 16,
 * as the paper), as fine-tuning a torchvision DeepLabv3 does (src/train/adapt.ts).
 */
function backboneConfig(backbone: ClassificationBackbone, o: BackboneStartOptions): DeepLabConfig {
  const reference = defaultConfig(backbone);
  const outputStride = o.config?.outputStride ?? o.outputStride ?? reference.outputStride;
  return defaultConfig(backbone, {
    aux: false,
    ...o.config,
    numClasses: o.classes.names.length,
    outputStride,
    asppRates: o.config?.asppRates ?? scaledRates(reference.asppRates, reference.outputStride, outputStride),
  });
}

/** A DeepLabv3 on the classification network in `state`; `source` names the file in errors. */
export function weightsFromBackbone(state: StateDict, source: string, o: BackboneStartOptions): FromBackbone {
  const backbone = detectClassificationBackbone(state, source);
  if (o.backbone && o.backbone !== backbone) throw new Error(`${source}: holds torchvision's ${backbone}, not the ${o.backbone} asked for`);
  const config = backboneConfig(backbone, o);
  const network = loadedNetwork(config);
  const inputPolicy = { kind: 'short-side', size: TORCHVISION_SHORT_SIDE } as const;
  const probeSize: [number, number] = [TORCHVISION_SHORT_SIDE, TORCHVISION_SHORT_SIDE];
  // Built at the probe size, the graph the model's first program reuses.
  const probe = network.buildGraph(probeNetworkSize({ inputPolicy, probeSize }));
  const { params, dropped } = classificationBackboneParams(state, probe, backbone, source);
  const rng = Rng.derive(o.seed, 0x1a17);
  const initialised: string[] = [];
  for (const v of storedState(probe)) {
    if (params.has(v.name)) continue;
    params.set(v.name, { shape: [...v.shape], data: freshTensor(probe, v, rng) });
    initialised.push(v.name);
  }
  checkParams(probe, params, source);
  const weights: LoadedWeights = {
    name: basename(source),
    config,
    ...network,
    inputPolicy,
    params,
    probeSize,
    classes: o.classes,
  };
  return { weights, backbone, dropped, initialised };
}

/** The state dict in a file of a format torchvision's classification networks come in (a PyTorch .pth, safetensors). */
export function readStateDictFile(path: string): StateDict {
  const takers = weightFormats().filter((f) => f.read.kind === 'file' && f.mappings.includes('torchvisionClassification'));
  const expected = `a torchvision classification checkpoint (${takers.flatMap((f) => f.extensions).join(' or ')})`;
  if (!existsSync(path)) throw new Error(`backbone weights not found: ${path}`);
  if (statSync(path).isDirectory()) throw new Error(`${path}: a folder; expected ${expected}`);
  const bytes = readFileBytes(path);
  const format = detectWeightFormat(bytes, path);
  if (format.read.kind !== 'file' || !takers.includes(format)) throw new Error(`${path}: a ${format.title} model, not ${expected}`);
  return format.read.tensors(bytes, path);
}

/** `weightsFromBackbone` on a file. */
export function loadBackboneWeights(path: string, o: BackboneStartOptions): FromBackbone {
  return weightsFromBackbone(readStateDictFile(path), path, o);
}
