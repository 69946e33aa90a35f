// A VainF/DeepLabV3Plus-Pytorch checkpoint ({'model_state': ..., 'optimizer_state': ...,
// 'cur_itrs', 'best_score'}, main.py's save_ckpt) as LoadedWeights. Its keys give the backbone,
// DeepLabv3 or v3+, the classes and `--separable_conv` (src/model/weights/vainf.ts); what they
// cannot give is read, in order, from the load options, the registry entry's hints, the file's
// name (main.py names it `best_<model>_<dataset>_os<stride>.pth`), else VainF's published
// defaults: output stride 16 (every published file; `outputStride` picks 8), ASPP rates as
// _segm_* sets them for the stride (6, 12, 18 at 16; 12, 24, 36 at 8), and the classes of the
// data set (`dataset`, the name's `_voc_` / `_cityscapes_`, else by count: 21 VOC, 19
// Cityscapes' train ids with VainF's decode colours). The input is predict.py's: the image at its
// own size, ImageNet's mean and std.
import { DATASET_NAMES, type DatasetName, datasetClassSet } from '../datasets.js';
import { defaultConfig } from '../backbones/config.js';
import { defaultClassSet, validateClassSet } from '../voc.js';
import type { TorchCheckpoint } from '../weights/import/pth.js';
import { vainfNetwork, vainfParams } from '../weights/vainf.js';
import { type LoadedWeights, type WeightHints, checkedWeights, loadedNetwork } from './loaded-weights.js';
import type { LoadOptions } from './options.js';

/** The output stride of VainF's published checkpoints (all `_os16`). */
export const VAINF_OUTPUT_STRIDE = 16;

/** _segm_resnet / _segm_mobilenet's ASPP rates: 12, 24, 36 at output stride 8, else 6, 12, 18. */
export function vainfAsppRates(outputStride: number): number[] {
  return outputStride === 8 ? [12, 24, 36] : [6, 12, 18];
}

/** The output stride a file's name gives (`_os8`, `_os16`), if any. */
export function outputStrideFromName(name: string): number | undefined {
  const m = /(?:^|[_\-.])os(8|16|32)(?=$|[_\-.])/i.exec(name.split(/[\\/]/).pop() ?? name);
  return m ? Number(m[1]) : undefined;
}

/** The data set a file's name gives (`_voc_`, `_cityscapes_`), if any. */
export function datasetFromName(name: string): DatasetName | undefined {
  const base = (name.split(/[\\/]/).pop() ?? name).toLowerCase();
  return DATASET_NAMES.find((d) => new RegExp(`(?:^|[_\\-.])${d}(?=$|[_\\-.])`).test(base));
}

/** The classes a count most likely means where nothing names them (VainF trains on VOC and Cityscapes). */
function classesByCount(numClasses: number) {
  return numClasses === 19 ? datasetClassSet('cityscapes') : defaultClassSet(numClasses);
}

export function vainfModel(name: string, checkpoint: TorchCheckpoint, opts: LoadOptions, source: string, hints: WeightHints = {}): LoadedWeights {
  const net = vainfNetwork(checkpoint.tensors, source);
  const outputStride = opts.outputStride ?? outputStrideFromName(source) ?? outputStrideFromName(name) ?? VAINF_OUTPUT_STRIDE;
  const config = defaultConfig(net.backbone, {
    head: 'vainf',
    decoder: net.decoder,
    numClasses: net.numClasses,
    outputStride,
    asppRates: opts.asppRates ?? vainfAsppRates(outputStride),
    asppSeparable: net.separable,
    aux: false,
  });
  const dataset = opts.dataset ?? datasetFromName(source) ?? datasetFromName(name);
  const classes = opts.dataset || !hints.classes ? (dataset ? datasetClassSet(dataset) : classesByCount(net.numClasses)) : hints.classes;
  const what = dataset ? `${source}: the classes of ${dataset}` : `${source}: classes`;
  const w: LoadedWeights = {
    name,
    config,
    ...loadedNetwork(config),
    inputPolicy: { kind: 'own-size' },
    params: vainfParams(checkpoint.tensors, source),
    probeSize: [64, 64],
    classes: validateClassSet(classes, net.numClasses, what),
  };
  return checkedWeights(w, `${source} (VainF's ${net.model})`);
}
