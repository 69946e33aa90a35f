// PyTorch's torch.save files (the zip format, or the legacy pickle stream): torchvision's,
// mmsegmentation's and VainF/DeepLabV3Plus-Pytorch's DeepLabv3 checkpoints, told apart by their
// keys, torchvision's classification networks as a backbone, and segmentation_models_pytorch's
// bare state dicts with their config given as a load option.
import { isLegacyTorchFile, readTorchCheckpoint } from '../../weights/import/pth.js';
import { isMmsegDeepLab } from '../../weights/mmseg.js';
import { isVainfDeepLab } from '../../weights/vainf.js';
import { mmsegModel } from '../mmseg-model.js';
import { isSmpStateDict, smpStateDictModel } from '../smp-model.js';
import { torchvisionModel } from '../torchvision-model.js';
import { vainfModel } from '../vainf-model.js';
import type { WeightFormatRecord } from './format.js';

export const PTH: WeightFormatRecord = {
  name: 'pth',
  title: 'PyTorch .pth',
  extensions: ['.pth', '.pt'],
  read: {
    kind: 'file',
    // A zip's local file header, or the legacy format's pickled magic number.
    sniff: (bytes) => (bytes.length >= 4 && String.fromCharCode(...bytes.subarray(0, 4)) === 'PK\x03\x04') || isLegacyTorchFile(bytes),
    tensors: (bytes, source) => readTorchCheckpoint(bytes, source).tensors,
    load(bytes, { name, source, opts, hints }) {
      const checkpoint = readTorchCheckpoint(bytes, source);
      if (opts.smpConfig !== undefined || isSmpStateDict(checkpoint.tensors)) return smpStateDictModel(name, checkpoint.tensors, source, opts);
      if (isMmsegDeepLab(checkpoint.tensors)) return mmsegModel(name, checkpoint, opts, source, hints);
      if (isVainfDeepLab(checkpoint.tensors)) return vainfModel(name, checkpoint, opts, source, hints);
      return torchvisionModel(name, checkpoint.tensors, opts);
    },
  },
  mappings: ['torchvision', 'mmseg', 'vainf', 'torchvisionClassification', 'smp'],
  page: true,
  registry: true,
};
