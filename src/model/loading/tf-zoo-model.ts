// TF DeepLab's model zoo as LoadedWeights: a zoo tarball's files (or a folder of them) hold a TF1
// checkpoint bundle (`<prefix>.index` + `<prefix>.data-NNNNN-of-NNNNN`) and a frozen graph
// (`frozen_inference_graph.pb`). The weights come from the checkpoint (the frozen graph's weight
// Consts where there is none), the batch-norm epsilons from the graph (TF DeepLab's defaults where
// there is none), folded on load (src/model/weights/tf-checkpoint.ts) into the MobileNetV2 network
// (but for a DeepLabv3+ decoder's, which stay), or taken as they are by a network that keeps TF's
// batch norms (Xception-65, MobileNetV3). The model runs images as the zoo's frozen graph does
// (the 'pad-to-crop' input policy): padded to the export crop, which the graph records (else the
// registry entry or the tarball's name says it), at the graph's output stride.
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
import type { BackboneRecord } from '../backbones/backbone.js';
import { policyWithOptions } from '../input-policy.js';
import type { InputPolicy, LoadOptions } from './options.js';
import { type LoadedWeights, type WeightHints, loadedNetwork, probeNetworkSize, scaledRates, tfDeepLab } from './loaded-weights.js';
import { type ZooGraph, checkZooConstants, readZooGraph } from './tf-zoo-graph.js';

/** The frozen graph's file name in a zoo tarball. */
export const FROZEN_GRAPH = 'frozen_inference_graph.pb';

/** TF DeepLab's export crop where nothing says another: PASCAL VOC's 513x513 (export_model.py's default). */
export const TF_ZOO_INPUT: [number, number] = [513, 513];

/** The zoo's export crops its file names tell (model_zoo.md): Cityscapes' 1025x2049, the ADE20K MobileNetV2's 257x257. */
const NAMED_CROPS: [RegExp, [number, number]][] = [
  [/cityscapes/i, [1025, 2049]],
  [/mnv2_ade20k/i, [257, 257]],
];

/** The unfolded variables and epsilons of a zoo model's files (paths as in the tarball or folder). */
export interface TfZooVariables {
  variables: TensorMap;
  epsilon: (scope: string) => number;
  /** What the weights were read from, for messages. */
  from: string;
  /** What the frozen graph says besides its weights (its crop, image pooling, constants), where there is one. */
  graph?: ZooGraph;
  /** The tarball's or folder's name, whose words may tell the export crop. */
  source?: string;
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
  const described = { ...(graph ? { graph: readZooGraph(graph) } : {}), source: files.what };
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
    return { variables, epsilon, from: `${files.what}: ${prefix}`, ...described };
  }
  // The graph's weights: the Consts its network reads as weights (its other constants are checked once the network is known).
  if (graph) return { variables: new Map([...graph.consts].filter(([n]) => graph.weights.has(n))), epsilon, from: `${files.what}: ${graphName}`, ...described };
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

/** The export crop a zoo model runs at: the frozen graph's, else the registry entry's, else its file name's, else 513x513. */
function exportCrop(zoo: TfZooVariables, hints: WeightHints): [number, number] {
  return zoo.graph?.crop ?? hints.inputSize ?? NAMED_CROPS.find(([words]) => words.test(zoo.source ?? ''))?.[1] ?? TF_ZOO_INPUT;
}

/** The zoo's pipeline at its crop (or the image at its own size, where the options ask) and the image size the load builds at. */
function zooInput(crop: [number, number], opts: LoadOptions): { inputPolicy: InputPolicy; probeSize: [number, number] } {
  return { inputPolicy: policyWithOptions({ kind: 'pad-to-crop', height: crop[0], width: crop[1] }, opts), probeSize: [crop[1], crop[0]] };
}

/** The output stride to run at: the options', the registry entry's, the frozen graph's, else the backbone's own. */
const outputStrideOf = (zoo: TfZooVariables, opts: LoadOptions, hints: WeightHints): number | undefined => opts.outputStride ?? hints.outputStride ?? zoo.graph?.outputStride;

/**
 * A zoo model whose backbone keeps TF's batch norms (the record's `weights.tf.batchNorms`): its
 * variables as they are, at the record's output stride (the zoo's single-scale one) unless the
 * options or the graph say another, the ASPP rates scaled with it (6, 12, 18 at 16 are 12, 24,
 * 36 at 8); its architecture from the graph's image pooling where the record reads one there.
 */
function keptBatchNormModel(name: string, record: BackboneRecord, zoo: TfZooVariables, opts: LoadOptions, hints: WeightHints, crop: [number, number]): LoadedWeights {
  // The logits' HWIO weight (the MobileNetV3 models': the decoder's, whose output is the logits): its output channels are the classes.
  const logits = zoo.variables.get('logits/semantic/weights') ?? zoo.variables.get('decoder/decoder_conv0/weights');
  const base = defaultConfig(record.name);
  const outputStride = outputStrideOf(zoo, opts, hints) ?? base.outputStride;
  const config = defaultConfig(record.name, {
    numClasses: logits && logits.shape.length === 4 ? logits.shape[3] : base.numClasses,
    outputStride,
    asppRates: opts.asppRates ?? scaledRates(base.asppRates, base.outputStride, outputStride),
  });
  const pooling = zoo.graph?.imagePooling;
  const fromGraph = pooling && record.weights.tf?.poolingArchitecture?.(pooling, zoo.graph?.outputStride ?? outputStride, zoo.from);
  const network = loadedNetwork(config, fromGraph ?? undefined);
  const input = zooInput(crop, opts);
  const params = tfKeptParams(network.buildGraph(probeNetworkSize(input)), zoo.variables, zoo.epsilon, zoo.from);
  const classes = hints.classes ?? zooClassSet(config.numClasses);
  return {
    name,
    config,
    ...network,
    ...input,
    params,
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

/**
 * A zoo model's weights: folded into the MobileNetV2 network, or as they are for a network that
 * keeps TF's batch norms (Xception-65, MobileNetV3). `crop` overrides the export crop the files
 * and hints give. A frozen graph's constants that are no weights must be those the network
 * computes with (src/model/loading/tf-zoo-graph.ts).
 */
export function tfZooModel(name: string, zoo: TfZooVariables, opts: LoadOptions, hints: WeightHints = {}, crop?: [number, number]): LoadedWeights {
  refuseUnbuiltNetwork(name, zoo);
  const record = backboneRecords().find((r) => r.weights.tf && zoo.variables.has(`${r.weights.tf.stem}/weights`));
  if (record && zoo.graph) checkZooConstants(zoo.graph, record.normalization, record.weights.tf!.arithmetic, record.title, zoo.from);
  const exportAt = crop ?? exportCrop(zoo, hints);
  if (record?.weights.tf?.batchNorms === 'kept') return keptBatchNormModel(name, record, zoo, opts, hints, exportAt);
  // The decoder (the ADE20K MobileNetV2's) keeps its batch norms, as the network builds it; the rest folds.
  const inDecoder = ([n]: [string, unknown]) => n.startsWith('decoder/');
  const decoderVariables = new Map([...zoo.variables].filter(inDecoder));
  const folded = foldTfVariables(new Map([...zoo.variables].filter((e) => !inDecoder(e))), zoo.epsilon, zoo.from);
  const classes = hints.classes ?? zooClassSet(folded.get('logits/semantic/weights')?.shape[0]);
  const decoder = decoderVariables.size > 0 ? { variables: decoderVariables, epsilon: zoo.epsilon, from: zoo.from } : undefined;
  return tfDeepLab(name, zooInput(exportAt, opts), folded, foldedNames, { ...opts, outputStride: outputStrideOf(zoo, opts, hints) }, classes, decoder);
}
