// TF DeepLab's model zoo (src/model/loading/tf-zoo-model.ts): a tarball of a TF1 checkpoint and
// a frozen graph, the frozen graph alone, or their files in a folder (or a checkpoint named by
// its prefix); folded on load into the MobileNetV2 network, or kept (Xception-65, MobileNetV3).
import { bytesWithin } from '../../../io/reader-rules.js';
import { isGzip } from '../../weights/import/tar.js';
import { FROZEN_GRAPH, type ZooFiles, tarballFiles, tfZooModel, zooVariables } from '../tf-zoo-model.js';
import type { WeightFormatRecord } from './format.js';

/** A frozen graph's bytes as the files of a zoo model. */
const graphFiles = (bytes: Uint8Array, source: string): ZooFiles => ({ names: [FROZEN_GRAPH], read: (_, max) => bytesWithin(bytes, max, source), what: source });

export const TF_ZOO: WeightFormatRecord = {
  name: 'tf-zoo',
  title: 'TF zoo .tar.gz',
  extensions: ['.tar.gz', '.tgz', '.tar'],
  read: {
    kind: 'file',
    sniff: isGzip,
    tensors: (bytes, source) => zooVariables(tarballFiles(bytes, source)).variables,
    load: (bytes, { name, source, opts, hints }) => tfZooModel(name, zooVariables(tarballFiles(bytes, source)), opts, hints),
  },
  mappings: ['tf'],
  page: true,
  registry: true,
};

export const TF_GRAPH: WeightFormatRecord = {
  name: 'tf-graph',
  title: `TF frozen graph (${FROZEN_GRAPH})`,
  extensions: ['.pb'],
  read: {
    kind: 'file',
    tensors: (bytes, source) => zooVariables(graphFiles(bytes, source)).variables,
    load: (bytes, { name, source, opts, hints }) => tfZooModel(name, zooVariables(graphFiles(bytes, source)), opts, hints),
  },
  mappings: ['tf'],
  page: false,
  registry: false,
};

export const TF_FOLDER: WeightFormatRecord = {
  name: 'tf-folder',
  title: 'TF zoo folder or checkpoint prefix (model.ckpt)',
  // A checkpoint's index names the checkpoint: its folder is read with the index's prefix.
  extensions: ['.index'],
  prefixNames: /\.ckpt(-\d+)?$/i,
  read: {
    kind: 'folder',
    recognise: ({ names }) => names.some((f) => f.endsWith('.index') || f === FROZEN_GRAPH),
    tensors: (files, prefix) => zooVariables(files, prefix).variables,
    load: (files, { name, opts, hints, prefix }) => tfZooModel(name, zooVariables(files, prefix), opts, hints),
  },
  mappings: ['tf'],
  page: false,
  registry: false,
};
