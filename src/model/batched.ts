// Still images that give the network the same input size, segmented together: one forward pass
// over the batch, then each image's logits post-processed at its own size.
import { GpuError } from '../gpu/context.js';
import type { StillImage } from '../io/band-image.js';
import { enlargeResult, labelsSize } from './nearest-labels.js';
import { buildPostGraph, paddingKey } from './post-graphs.js';
import type { SegmentHost } from './segment-host.js';
import type { SegmentOutput, SegmentResult } from './segment-options.js';
import type { DeviceProgram, DeviceTensor } from './devices/device.js';

/** segmentTogether, halving the batch while it is too large for the device's binding limit. */
export async function segmentSplitting(host: SegmentHost, imgs: StillImage[], scale: number, include: Set<SegmentOutput>): Promise<SegmentResult[]> {
  try {
    return await segmentTogether(host, imgs, scale, include);
  } catch (e) {
    if (imgs.length === 1 || !(e instanceof GpuError) || e.kind !== 'limit') throw e;
    const half = Math.ceil(imgs.length / 2);
    return [
      ...(await segmentSplitting(host, imgs.slice(0, half), scale, include)),
      ...(await segmentSplitting(host, imgs.slice(half), scale, include)),
    ];
  }
}

/** One forward pass over images of one network size; each image post-processed at its own size. */
async function segmentTogether(host: SegmentHost, imgs: StillImage[], scale: number, include: Set<SegmentOutput>): Promise<SegmentResult[]> {
  const [height, width] = host.networkSize(imgs[0].width, imgs[0].height, scale);
  const raw = host.postLogits(height, width);
  const C = host.numClasses;
  // Images of one network size may differ in size, so in their padding too: each has its own post-processing.
  const post = (img: StillImage): Promise<DeviceProgram> => {
    const padding = host.inputPadding(img.width, img.height, scale);
    const [outH, outW] = labelsSize(host, img, height, width, scale);
    const key = `${raw.height}x${raw.width}${paddingKey(padding)}->${outH}x${outW}:${[...include].sort().join(',')}`;
    return host.postProgram(key, () => buildPostGraph(raw.height, raw.width, C, outH, outW, include, host.outputResize, padding));
  };
  // On the host, while other calls may have the device.
  const inputs = imgs.map((img) => host.preprocess(img, scale).input);
  const input = new Float32Array(imgs.length * inputs[0].length);
  inputs.forEach((one, k) => input.set(one, k * one.length));
  return host.exclusive(async () => {
    // Post-processing first: an image too large for the device's limits fails before any work there.
    for (const img of imgs) await post(img);
    const exec = await host.program(height, width, imgs.length);
    let logits!: DeviceTensor;
    const results: SegmentResult[] = [];
    for (const [k, img] of imgs.entries()) {
      // Cached by size, so usually a hit (the cache may have evicted it for a later image's).
      const postProgram = await post(img);
      // The network and the first image's post-processing together (on the GPU one submission);
      // the others post-process the logits it left on the device.
      const item = (index: number): DeviceTensor => host.tensors.item(logits, index);
      const out =
        k === 0
          ? await postProgram.runAfter(exec, { image: input }, (o) => ((logits = o.get(raw.name)!), { logits: item(0) }))
          : await postProgram.run({ logits: item(k) });
      const [outH, outW] = labelsSize(host, img, height, width, scale);
      const result: SegmentResult = { width: outW, height: outH, classes: Uint8Array.from(out.get('classes') as Uint32Array), numClasses: C };
      if (include.has('probabilities')) result.probabilities = out.get('probabilities') as Float32Array;
      if (include.has('logits')) result.logits = (out.get('logits') as Float32Array | undefined) ?? (await host.tensors.read(item(k)));
      results.push(enlargeResult(result, img.width, img.height));
    }
    return results;
  });
}
