// Multi-scale and flipped inference (paper Sec. 5): the softmax probabilities of every scale (and
// its mirror) averaged at the image's size, on the model's device. Each pass's logits are mirrored back
// (flipped view), resized to the image, turned into probabilities and added to one accumulator;
// only the class map (and the average, when asked for) comes back. A model that takes its labels
// by nearest neighbour (TF DeepLab's zoo) averages at the image's size in its input at scale 1,
// the result enlarged to the image afterwards.
import type { StillImage } from '../io/band-image.js';
import { flipImage } from './image-input.js';
import { enlargeResult, labelsSize } from './nearest-labels.js';
import { buildAccumulateGraph, buildArgmaxGraph, paddingKey } from './post-graphs.js';
import type { SegmentHost } from './segment-host.js';
import type { SegmentResult } from './segment-options.js';
import type { DeviceProgram } from './devices/device.js';

/** One image's averaged passes, inside a turn of the context's queue. */
export async function segmentAveraged(host: SegmentHost, img: StillImage, scales: number[], flip: boolean, keepProbabilities: boolean): Promise<SegmentResult> {
  const C = host.numClasses;
  const [H, W] = labelsSize(host, img, ...host.networkSize(img.width, img.height, 1), 1);
  const finish = (): Promise<DeviceProgram> => host.postProgram(`average->${H}x${W}`, () => buildArgmaxGraph(H, W, C));
  // Post-processing first: an image too large for the device's limits fails before any work.
  await finish();
  const sum = host.tensors.zeros([1, H, W, C], 'probability sum');
  try {
    const views: [StillImage, boolean][] = flip ? [[img, false], [flipImage(img), true]] : [[img, false]];
    let passes = 0;
    for (const scale of scales) {
      for (const [view, mirrored] of views) {
        const [h, w] = host.networkSize(img.width, img.height, scale);
        const padding = host.inputPadding(img.width, img.height, scale);
        const raw = host.postLogits(h, w);
        const key = `accumulate ${raw.height}x${raw.width}${paddingKey(padding)}->${H}x${W}${mirrored ? ' mirrored' : ''}`;
        const post = await host.postProgram(key, () => buildAccumulateGraph(raw.height, raw.width, C, H, W, mirrored, host.outputResize, padding));
        const network = await host.program(h, w);
        // The network and the accumulation in one submission and one wait.
        const out = await post.runKeptAfter(network, { image: host.preprocess(view, scale).input }, (o) => ({ logits: o.get(raw.name)!, sum }));
        await host.tensors.copy(out.get('sum')!, sum);
        passes++;
      }
    }
    // Fetched again: the passes' programs may have pushed it out of the cache.
    const out = await (await finish()).run({ sum });
    const result: SegmentResult = { width: W, height: H, classes: Uint8Array.from(out.get('classes') as Uint32Array), numClasses: C };
    if (keepProbabilities) {
      const p = await host.tensors.read(sum);
      for (let i = 0; i < p.length; i++) p[i] /= passes;
      result.probabilities = p;
    }
    return enlargeResult(result, img.width, img.height);
  } finally {
    sum.dispose();
  }
}
