// A network from an ONNX file, as a backbone record: a whole network (its head is the file's),
// its architecture the file's model (src/model/networks/onnx-network.ts), built for any input
// size and class count, so an imported file takes the same seat as our own networks: the model's
// programs, fine-tuning with a new class set, checkpoints, describe.
import { type OnnxArchitecture, defaultOnnxArchitecture, importedOwnOutput, onnxArchitectureFromJson, onnxArchitectureJson, onnxFileWithWeights, onnxNetwork } from '../networks/onnx-network.js';
import { type BackboneRecord, architectureCasts } from './backbone.js';

const arch = architectureCasts<OnnxArchitecture>();

export const ONNX_NETWORK: BackboneRecord = {
  name: 'onnx',
  title: 'an ONNX file',
  network: {
    kind: 'whole',
    build: (b, image, cfg, opts) => onnxNetwork(b, image, arch.unwrap(opts.architecture), cfg.numClasses).logits,
    // The file's output as onnxruntime gives it, at its own stride.
    ownOutput: importedOwnOutput,
  },
  architecture: {
    default: arch.wrap(defaultOnnxArchitecture()),
    metadataKey: 'onnx',
    toJson: (a) => onnxArchitectureJson(arch.unwrap(a)),
    fromJson: (v, what) => arch.wrap(onnxArchitectureFromJson(v, what)),
  },
  // The file fixes its strides: the config's output stride and rates are not read (any of ours validates).
  naturalOutputStride: () => 32,
  cascadedBlocks: false,
  multiGrid: false,
  stems: ['v1b'],
  mmsegHead: false,
  decoder: false,
  separableDecoder: false,
  inputChannels: 'any',
  normalization: 'imagenet',
  defaults: { outputStride: 16, asppRates: [] },
  // Exporters name a backbone's tensors backbone.* (torchvision, VainF) or encoder.* (smp).
  ownsParam: (name) => /^(backbone|encoder)[./]/.test(name),
  weights: { onnx: { imported: true } },
  onnxFile: (a, params, cfg, metadata) => onnxFileWithWeights(arch.unwrap(a), params, cfg.numClasses, metadata),
  export: { torchvision: false, why: 'a network from an ONNX file has no torchvision counterpart; it exports to ONNX (deeplab export --format onnx)' },
  // PyTorch's exporters name nodes by module path: /backbone/layer1/..., /classifier/...
  describeGroups: [
    [/^\/(backbone|encoder)\//, () => 'backbone'],
    [/^\/(classifier|decoder|segmentation_head|head)\//, () => 'head'],
  ],
};
