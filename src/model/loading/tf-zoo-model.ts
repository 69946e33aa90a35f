// TF DeepLab's model zoo as LoadedWeights: a zoo tarball's files (or a folder of them) hold a TF1
// checkpoint bundle (`<prefix>.index` + `<prefix>.data-NNNNN-of-NNNNN`) and a frozen graph
// (`frozen_inference_graph.pb`). The weights come from the checkpoint (the frozen graph's Consts
// where there is none), the batch-norm epsilons from the graph (TF DeepLab's defaults where there
// is none), folded on load (src/model/weights/tf-checkpoint.ts) into the MobileNetV2 network (but
// for a DeepLabv3+ decoder's, which stay), or taken as they are by a network that keeps TF's
// batch norms (Xception-65).
import { bytesWithin } from '../../io/reader-rules.js';
import { backboneRecords } from '../backbones/registry.js';
import { defaultConfig } from '../backbones/config.js';
import { datasetClassSet } from '../datasets.js';
import { defaultClassSet, validateClassSet } from '../voc.js';
import type { TensorMap } from '../weights/import/tensor-map.js';
import { readTar } from '../weights/import/tar.js';
import { readTfCheckpoint, shardName } from '../weights/import/tf-bundle.js';
import { readFrozenGraph } from '../weights/import/tf-graph.js';
import { defaultTfBnEpsilon, foldTfVariables, foldedNames, isModelVariable, tfKeptParams } from '../weights/tf-checkpoint.js';
import type { InputPolicy, LoadOptions } from './options.js';
import { type LoadedWeights, type WeightHints, loadedNetwork, probeNetworkSize, scaledRates, tfDeepLab } from './loaded-weights.js';

/** The frozen graph's file name in a zoo tarball. */
export const FROZEN_GRAPH = 'frozen_inference_graph.pb';

/** TF DeepLab's zoo models take 513x513 crops (PASCAL VOC); a registry entry may say otherwise. */
export const TF_ZOO_INPUT: [number, number] = [513, 513];

/** The unfolded variables and epsilons of a zoo model's files (paths as in the tarball or folder). */
export interface TfZooVariables {
  variables: TensorMap;
  epsilon: (scope: string) => number;
  /** What the weights were read from, for messages. */
  from: string;
}

/** A file source: names of the files there, and a reader of one by name. */
export interface ZooFiles {
  names: readonly string[];
  /** The file's bytes; with `maxBytes`, refused (naming it) when it has more (checked before reading where it is on disk). */
  read(name: string, maxBytes?: number): Uint8Array;
  /** Names the source in errors (the tarball or the folder). */
  what: string;
}

/** The variables of a zoo model: its checkpoint bundle's (the one `.index`), else its frozen graph's Consts. */
export function zooVariables(files: ZooFiles, prefixHint?: string): TfZooVariables {
  const indexes = files.names.filter((n) => n.endsWith('.index') && (!prefixHint || n === `${prefixHint}.index`));
  const graphName = files.names.find((n) => n === FROZEN_GRAPH || n.endsWith(`/${FROZEN_GRAPH}`));
  const graph = graphName ? readFrozenGraph(files.read(graphName), `${files.what}: ${graphName}`) : undefined;
  const epsilon = (scope: string) => graph?.bnEpsilon.get(scope) ?? defaultTfBnEpsilon(scope);
  if (indexes.length > 1) throw new Error(`${files.what}: ${indexes.length} checkpoints (${indexes.join(', ')}); give the one to load as a prefix`);
  if (indexes.length === 1) {
    const indexName = indexes[0];
    const prefix = indexName.slice(0, -'.index'.length);
    const variables = readTfCheckpoint(
      {
        index: files.read(indexName),
        indexName: `${files.what}: ${indexName}`,
        shard: (shard, shards) => {
          const name = shardName(prefix, shard, shards);
          if (!files.names.includes(name)) throw new Error(`${files.what}: ${name} is missing (the data of checkpoint ${prefix})`);
          return { bytes: files.read(name), name: `${files.what}: ${name}` };
        },
      },
      isModelVariable,
    );
    return { variables, epsilon, from: `${files.what}: ${prefix}` };
  }
  if (graph) return { variables: graph.consts, epsilon, from: `${files.what}: ${graphName}` };
  throw new Error(`${files.what}: neither a checkpoint (<prefix>.index and its .data) nor ${FROZEN_GRAPH}: not a TF DeepLab model`);
}

/** The files of a zoo tarball's bytes. */
export function tarballFiles(bytes: Uint8Array, what: string): ZooFiles {
  const members = readTar(bytes, what);
  return { names: [...members.keys()], read: (n, max) => bytesWithin(members.get(n)!, max, `${what}: ${n}`), what };
}

/** The zoo's data sets by class count: Cityscapes' 19, ADE20K's 151 ('other' first); VOC's 21 are the default class set. */
function zooClassSet(numClasses: number | undefined) {
  return numClasses === 19 ? datasetClassSet('cityscapes') : numClasses === 151 ? datasetClassSet('ade20k-tf') : undefined;
}

/**
 * A zoo model whose backbone keeps TF's batch norms (the record's `weights.tf.batchNorms`): its
 * variables as they are, at the record's output stride (the zoo's single-scale one) unless the
 * options say another, the ASPP rates scaled with it (6, 12, 18 at 16 are 12, 24, 36 at 8).
 */
function keptBatchNormModel(name: string, zoo: TfZooVariables, opts: LoadOptions, hints: WeightHints, inputSize: [number, number]): LoadedWeights | undefined {
  const record = backboneRecords().find((r) => r.weights.tf?.batchNorms === 'kept' && zoo.variables.has(`${r.weights.tf.stem}/weights`));
  if (!record) return undefined;
  // The logits' HWIO weight (the MobileNetV3 models': the decoder's, whose output is the logits): its output channels are the classes.
  const logits = zoo.variables.get('logits/semantic/weights') ?? zoo.variables.get('decoder/decoder_conv0/weights');
  const base = defaultConfig(record.name);
  const outputStride = opts.outputStride ?? hints.outputStride ?? base.outputStride;
  const config = defaultConfig(record.name, {
    numClasses: logits && logits.shape.length === 4 ? logits.shape[3] : base.numClasses,
    outputStride,
    asppRates: opts.asppRates ?? scaledRates(base.asppRates, base.outputStride, outputStride),
  });
  const network = loadedNetwork(config);
  const inputPolicy: InputPolicy = { kind: 'fixed', height: inputSize[0], width: inputSize[1] };
  const probeSize: [number, number] = [inputSize[1], inputSize[0]];
  const params = tfKeptParams(network.buildGraph(probeNetworkSize({ inputPolicy, probeSize })), zoo.variables, zoo.epsilon, zoo.from);
  const classes = hints.classes ?? zooClassSet(config.numClasses);
  return {
    name,
    config,
    ...network,
    inputPolicy,
    params,
    probeSize,
    classes: classes ? validateClassSet(classes, config.numClasses, `${name}: classes`) : defaultClassSet(config.numClasses),
  };
}

/**
 * A zoo file none of whose backbones is built here (Xception-71, whose zoo models all have the
 * Dense Prediction Cell head; NAS ones) is refused naming its scopes and the networks that are.
 */
function refuseUnbuiltNetwork(name: string, zoo: TfZooVariables): void {
  const tfRecords = backboneRecords().filter((r) => r.weights.tf);
  const names = [...zoo.variables.keys()];
  if (tfRecords.some((r) => names.some((n) => n.startsWith(`${r.weights.tf!.stem}/`)))) return;
  const scopes = [...new Set(names.map((n) => n.split('/')[0]))].filter((s) => s !== 'global_step');
  const dpc = scopes.includes('dense_prediction_cell') ? " (and a Dense Prediction Cell head, which is not built)" : '';
  const built = [...new Set(tfRecords.map((r) => r.title))].join(', ');
  throw new Error(`${name} (${zoo.from}): its variables are under ${scopes.slice(0, 6).join(', ')}${dpc}: not a TF DeepLab network built here (${built})`);
}

/** A zoo model's weights: folded into the MobileNetV2 network, or as they are for a network that keeps TF's batch norms (Xception-65, MobileNetV3). */
export function tfZooModel(name: string, zoo: TfZooVariables, opts: LoadOptions, hints: WeightHints = {}, inputSize: [number, number] = TF_ZOO_INPUT): LoadedWeights {
  refuseUnbuiltNetwork(name, zoo);
  const kept = keptBatchNormModel(name, zoo, opts, hints, inputSize);
  if (kept) return kept;
  // The decoder (the ADE20K MobileNetV2's) keeps its batch norms, as the network builds it; the rest folds.
  const inDecoder = ([n]: [string, unknown]) => n.startsWith('decoder/');
  const decoderVariables = new Map([...zoo.variables].filter(inDecoder));
  const folded = foldTfVariables(new Map([...zoo.variables].filter((e) => !inDecoder(e))), zoo.epsilon, zoo.from);
  const classes = hints.classes ?? zooClassSet(folded.get('logits/semantic/weights')?.shape[0]);
  const decoder = decoderVariables.size > 0 ? { variables: decoderVariables, epsilon: zoo.epsilon, from: zoo.from } : undefined;
  return tfDeepLab(name, inputSize, folded, foldedNames, { ...opts, outputStride: opts.outputStride ?? hints.outputStride }, classes, decoder);
}
