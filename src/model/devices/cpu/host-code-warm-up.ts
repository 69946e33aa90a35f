// The page's first segment on the CPU pays for JavaScript's compiler twice over: the image's
// resize for the network and the post-processing (the logits resized back and argmaxed) first run
// unoptimised, 90 ms and 40 ms on the 2-core EPYC host for the default model against 4 and 13 ms
// once compiled. While onnxruntime-web compiles its WebAssembly (a few hundred milliseconds on
// background threads, from the load's start) the page's own thread is idle: the same code runs
// there once, on a small image, so that the first real segment finds it compiled. The results
// are thrown away.
import { networkInput } from '../../input-policy.js';
import type { LoadedWeights } from '../../loading/load-weights.js';
import type { NetworkGraphs } from '../../network-graphs.js';
import { buildPostGraph } from '../../post-graphs.js';
import { CpuGraphProgram } from './cpu-programs.js';

/** The input resize and the post-processing of `weights` run once on a small image at the network's own size `ownSize`. */
export async function warmUpHostCode(weights: LoadedWeights, graphs: NetworkGraphs, ownSize: [number, number]): Promise<void> {
  if ((weights.config.inChannels ?? 3) !== 3) return;
  const [w, h] = [Math.min(ownSize[1], 97), Math.min(ownSize[0], 73)];
  networkInput(weights.inputPolicy, weights.config, { width: w, height: h, data: new Uint8Array(w * h * 3) });
  const raw = graphs.postLogits(...ownSize);
  const C = weights.config.numClasses;
  const post = new CpuGraphProgram(buildPostGraph(raw.height, raw.width, C, h, w, new Set()));
  await post.run({ logits: new Float32Array(raw.height * raw.width * C) });
}
