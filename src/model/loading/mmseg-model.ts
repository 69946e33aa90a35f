// An mmseg DeepLabv3 checkpoint as LoadedWeights: the network its state dict holds, the settings
// its state dict cannot tell (from the registry, the checkpoint's saved config, its name, or its
// dataset's conventions, in that order), its classes (from its meta), and mmseg's test pipeline
// recorded as the input policy (keep-ratio resize) and the sliding windows where mmseg slides.
import { datasetClassSet } from '../datasets.js';
import type { TorchCheckpoint } from '../weights/import/pth.js';
import { type MmsegSettings, resolveSettings, settingsFromClassCount, settingsFromConfigText, settingsFromName } from '../weights/mmseg-config.js';
import { mmsegClasses, mmsegConfig, mmsegConfigText, mmsegExperimentName, mmsegNetwork, mmsegParams } from '../weights/mmseg.js';
import { defaultClassSet, validateClassSet } from '../voc.js';
import type { LoadOptions } from './options.js';
import { type LoadedWeights, type WeightHints, checkedWeights, loadedNetwork, scaledRates } from './loaded-weights.js';

/** The classes a count of outputs most likely means, when the file names none. */
function classesByCount(numClasses: number) {
  if (numClasses === 19) return datasetClassSet('cityscapes');
  if (numClasses === 150) return datasetClassSet('ade20k');
  return defaultClassSet(numClasses);
}

/** The settings of a checkpoint: hints, then its config text, its names, its class count. */
export function mmsegSettingsOf(checkpoint: TorchCheckpoint, numClasses: number, source: string, hints: WeightHints = {}): MmsegSettings {
  const meta = checkpoint.root.get('meta');
  const text = mmsegConfigText(meta);
  let fromText: Partial<MmsegSettings> = {};
  if (text !== undefined) {
    try {
      fromText = settingsFromConfigText(text);
    } catch (e) {
      throw new Error(`${source}: the config saved in the checkpoint's meta: ${(e as Error).message}`);
    }
  }
  const experiment = mmsegExperimentName(meta);
  return resolveSettings(hints.mmseg ?? {}, fromText, settingsFromName(source), experiment ? settingsFromName(experiment) : {}, settingsFromClassCount(numClasses));
}

export function mmsegModel(name: string, checkpoint: TorchCheckpoint, opts: LoadOptions, source: string, hints: WeightHints = {}): LoadedWeights {
  const net = mmsegNetwork(checkpoint.tensors, source);
  const settings = mmsegSettingsOf(checkpoint, net.numClasses, source, hints);
  const outputStride = opts.outputStride ?? settings.outputStride;
  const asppRates = opts.asppRates ?? scaledRates(settings.asppRates, settings.outputStride, outputStride);
  const config = mmsegConfig(net, { ...settings, outputStride, asppRates }, {}, source);
  const params = mmsegParams(checkpoint.tensors, config, source);
  const [long, short] = opts.testScale ?? settings.testScale;
  const fallback = hints.classes ?? classesByCount(net.numClasses);
  const classes = mmsegClasses(checkpoint.root.get('meta'), net.numClasses, fallback, source) ?? validateClassSet(fallback, net.numClasses, `${source}: classes`);
  const probe = settings.slide ? Math.min(settings.slide.crop, short) : short;
  const w: LoadedWeights = {
    name,
    config,
    ...loadedNetwork(config),
    inputPolicy: { kind: 'keep-ratio', long, short },
    params,
    probeSize: [probe, probe],
    classes,
    ...(settings.slide ? { slide: settings.slide } : {}),
  };
  return checkedWeights(w, source);
}
