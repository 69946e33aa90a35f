// Turns a model name or a weights path into everything a DeepLabModel needs: the config, a
// graph builder for any input size, and host params in our layouts, checked against the graph.
import { existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { GraphBuilder } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import { type HostParams, checkParams } from '../graph/params.js';
import { type DeepLabConfig, defaultConfig } from './config.js';
import { readNpyDir } from './import/npy.js';
import { readPth } from './import/pth.js';
import { readSafetensors } from './import/safetensors.js';
import { readTflite, tfliteTensorMap } from './import/tflite.js';
import type { InputPolicy, LoadOptions } from './model.js';
import { buildTfMobilenetV2DeepLab } from './mobilenet-v2.js';
import { type RegistryEntry, type WeightFormat, findModel } from './registry.js';
import { checkTfliteStructure } from './tflite-structure.js';
import { npyNames, tfMobilenetV2Params, tfliteNames } from './tf-weights.js';
import { buildTorchvisionDeepLab, torchvisionConfigFromState, torchvisionParams } from './torchvision.js';
import { resolveWeights } from './weights-store.js';

export interface LoadedWeights {
  name: string;
  config: DeepLabConfig;
  inputPolicy: InputPolicy;
  /** Unfolded params in our layouts (BN statistics kept; folding is a graph pass). */
  params: HostParams;
  /** The network for one input size: input 'image' [1,H,W,3] normalised, output 'logits'. */
  buildGraph(height: number, width: number): Graph;
  /** An input size to build at load time (width, height), to check the weights early. */
  probeSize: [number, number];
}

/** torchvision's reference evaluation resizes the short side to 520 (LoadOptions.shortSide overrides). */
const TORCHVISION_SHORT_SIDE = 520;

function formatOfPath(path: string): WeightFormat {
  if (statSync(path).isDirectory()) return 'npy-dir';
  const ext = extname(path).toLowerCase();
  if (ext === '.tflite') return 'tflite';
  if (ext === '.pth' || ext === '.pt') return 'pth';
  if (ext === '.safetensors') return 'safetensors';
  throw new Error(`${path}: unsupported weights format '${ext || '(no extension)'}' (expected .tflite, .pth, .safetensors or a folder of .npy files)`);
}

/** ASPP rates follow the output stride (6/12/18 at 16 become 12/24/36 at 8) unless given. */
function scaledRates(rates: number[], fromStride: number, toStride: number): number[] {
  return rates.map((r) => Math.max(1, Math.round((r * fromStride) / toStride)));
}

function tfMobilenetV2(name: string, size: [number, number], source: Parameters<typeof tfMobilenetV2Params>[1], resolver: typeof npyNames, opts: LoadOptions): LoadedWeights {
  // The first conv has 32 x multiplier filters; its weight is OHWI in both TF sources.
  const stem = source.get(resolver('MobilenetV2/Conv', 'weights', false)[0]);
  if (!stem) throw new Error(`${name}: no MobilenetV2/Conv weights: not a TF DeepLab MobileNetV2 file`);
  const depthMultiplier = stem.shape[0] / 32;
  const config = defaultConfig('mobilenet_v2', {
    outputStride: opts.outputStride ?? 8,
    asppRates: opts.asppRates ?? [],
  });
  const buildGraph = (height: number, width: number): Graph => {
    const g = new GraphBuilder();
    const image = g.input('image', [1, height, width, 3]);
    g.output('logits', buildTfMobilenetV2DeepLab(g, image, { ...config, depthMultiplier }));
    return g.build();
  };
  const probe = buildGraph(size[0], size[1]);
  const params = tfMobilenetV2Params(probe, source, resolver, name);
  return { name, config, inputPolicy: { kind: 'fixed', height: size[0], width: size[1] }, params, buildGraph, probeSize: [size[1], size[0]] };
}

function torchvisionModel(name: string, state: ReturnType<typeof readPth>, opts: LoadOptions): LoadedWeights {
  const base = torchvisionConfigFromState(state, {}, name);
  const outputStride = opts.outputStride ?? base.outputStride;
  const config = torchvisionConfigFromState(
    state,
    { outputStride, asppRates: opts.asppRates ?? scaledRates(base.asppRates, base.outputStride, outputStride), aux: false },
    name,
  );
  const buildGraph = (height: number, width: number): Graph => buildTorchvisionDeepLab(config, height, width);
  const params = torchvisionParams(state, config);
  checkParams(buildGraph(65, 65), params, name);
  const shortSide = opts.shortSide ?? TORCHVISION_SHORT_SIDE;
  return {
    name,
    config,
    inputPolicy: { kind: 'short-side', size: shortSide },
    params,
    buildGraph,
    probeSize: [shortSide, shortSide],
  };
}

export async function loadWeights(nameOrPath: string, opts: LoadOptions = {}): Promise<LoadedWeights> {
  let path: string;
  let format: WeightFormat;
  let entry: RegistryEntry | undefined;
  if (existsSync(nameOrPath)) {
    path = nameOrPath;
    format = formatOfPath(path);
  } else {
    if (/[/\\]|\.(tflite|pth|pt|safetensors)$/i.test(nameOrPath)) throw new Error(`weights file not found: ${nameOrPath}`);
    entry = findModel(nameOrPath);
    path = await resolveWeights(entry, { download: opts.download, onProgress: opts.onProgress });
    format = entry.format;
  }
  const name = entry?.name ?? basename(path);
  switch (format) {
    case 'tflite': {
      const tfl = readTflite(path);
      const input = tfl.tensors[tfl.inputs[0]];
      if (!input || input.shape.length !== 4 || input.shape[3] !== 3) {
        throw new Error(`${path}: expected one NHWC RGB input, got ${input ? `[${input.shape.join(',')}]` : 'none'}`);
      }
      const loaded = tfMobilenetV2(name, [input.shape[1], input.shape[2]], tfliteTensorMap(tfl), tfliteNames, opts);
      // The file's own strides, pads, rates and resize options must be what we built.
      if (loaded.config.outputStride === 8) checkTfliteStructure(tfl, loaded.buildGraph(input.shape[1], input.shape[2]), path);
      return loaded;
    }
    case 'npy-dir':
      return tfMobilenetV2(name, entry?.inputSize ?? [513, 513], readNpyDir(path), npyNames, opts);
    case 'pth':
      return torchvisionModel(name, readPth(path), opts);
    case 'safetensors': {
      const { tensors, metadata } = readSafetensors(path);
      if (metadata['format'] === 'torchvision') return torchvisionModel(name, tensors, opts);
      throw new Error(`${path}: safetensors file without deeplab metadata (format=torchvision expected)`);
    }
  }
}
