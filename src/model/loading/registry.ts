// Named pretrained models: where each file comes from, how to check it, and how to build the
// network that reads it.
export type WeightFormat = 'tflite' | 'npy-dir' | 'pth' | 'safetensors';

export interface RegistryEntry {
  name: string;
  description: string;
  format: WeightFormat;
  /** File (or folder, for npy-dir) name looked up in DEEPLAB_WEIGHTS_DIR and the cache. */
  fileName: string;
  /** Official download address; absent where only a local copy can be used. */
  url?: string;
  /** Full sha256 of the file, where published. */
  sha256?: string;
  /** First hex digits of the sha256 carried in the file name (torchvision's convention). */
  sha256Prefix?: string;
  /** The network that reads it. */
  backbone: 'mobilenet_v2' | 'resnet50' | 'resnet101' | 'mobilenet_v3_large';
  /** Fixed input size of the graph ([height, width]) or null for "the image's own size". */
  inputSize: [number, number] | null;
  outputStride: number;
  numClasses: number;
  dataset: string;
}

export const REGISTRY: readonly RegistryEntry[] = [
  {
    name: 'mobilenetv2-pascal-257',
    description: 'TF DeepLab MobileNetV2, PASCAL VOC, 257x257 (official TFLite, float32)',
    format: 'tflite',
    fileName: 'deeplabv3_257_mv_gpu.tflite',
    url: 'https://storage.googleapis.com/download.tensorflow.org/models/tflite/gpu/deeplabv3_257_mv_gpu.tflite',
    sha256: '68a539782c2c6a72f8aac3724600124a85ed977162b44e84cbae5db717c933c6',
    backbone: 'mobilenet_v2',
    inputSize: [257, 257],
    outputStride: 8,
    numClasses: 21,
    dataset: 'PASCAL VOC 2012 (21 classes)',
  },
  {
    name: 'mobilenetv2-pascal-513',
    description: 'TF DeepLab MobileNetV2, PASCAL VOC train+val, 513x513 (checkpoint as .npy tensors)',
    format: 'npy-dir',
    fileName: 'tf-deeplabv3-mnv2-pascal-trainval-513',
    backbone: 'mobilenet_v2',
    inputSize: [513, 513],
    outputStride: 8,
    numClasses: 21,
    dataset: 'PASCAL VOC 2012 train+val (21 classes)',
  },
  {
    name: 'resnet50-coco',
    description: 'torchvision deeplabv3_resnet50, COCO subset with the VOC classes',
    format: 'pth',
    fileName: 'deeplabv3_resnet50_coco-cd0a2569.pth',
    url: 'https://download.pytorch.org/models/deeplabv3_resnet50_coco-cd0a2569.pth',
    sha256Prefix: 'cd0a2569',
    backbone: 'resnet50',
    inputSize: null,
    outputStride: 8,
    numClasses: 21,
    dataset: 'COCO (20 VOC categories + background)',
  },
  {
    name: 'resnet101-coco',
    description: 'torchvision deeplabv3_resnet101, COCO subset with the VOC classes',
    format: 'pth',
    fileName: 'deeplabv3_resnet101_coco-586e9e4e.pth',
    url: 'https://download.pytorch.org/models/deeplabv3_resnet101_coco-586e9e4e.pth',
    sha256Prefix: '586e9e4e',
    backbone: 'resnet101',
    inputSize: null,
    outputStride: 8,
    numClasses: 21,
    dataset: 'COCO (20 VOC categories + background)',
  },
  {
    name: 'mobilenetv3-large-coco',
    description: 'torchvision deeplabv3_mobilenet_v3_large, COCO subset with the VOC classes',
    format: 'pth',
    fileName: 'deeplabv3_mobilenet_v3_large-fc3c493d.pth',
    url: 'https://download.pytorch.org/models/deeplabv3_mobilenet_v3_large-fc3c493d.pth',
    sha256Prefix: 'fc3c493d',
    backbone: 'mobilenet_v3_large',
    inputSize: null,
    outputStride: 16,
    numClasses: 21,
    dataset: 'COCO (20 VOC categories + background)',
  },
];

export const DEFAULT_MODEL = 'mobilenetv2-pascal-257';

export function findModel(name: string): RegistryEntry {
  const entry = REGISTRY.find((e) => e.name === name);
  if (!entry) {
    throw new Error(`unknown model '${name}'. Known models: ${REGISTRY.map((e) => e.name).join(', ')} (or give a file path)`);
  }
  return entry;
}
