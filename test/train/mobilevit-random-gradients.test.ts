// Property test of MobileViT's training step (issue 44): random configurations (random-mobilevit.ts:
// head sizes, head counts, expansions, patches and input sides off every tile and block of
// the kernels on the attention path), batch norms in training mode, the softmax cross-entropy
// of the upsampled logits (ignore index 255). Every forward op, the loss, the input gradient and
// every parameter gradient of the GPU's float32 run against the float64 CPU interpreter's run of
// the same graph from the GPU's forward values (againstFloat64). Each case's configuration and
// seed are in its message; TEST_SEED replays a run.
import { RUN_SEED } from '../helpers.js';
import { checkTrainingStep, publishedXSmall, randomMobileVit } from './random-mobilevit.js';

/** Cases a run draws, each a new configuration. */
const CASES = 4;

describe('training: random MobileViT configurations, every gradient against the float64 interpreter @slow', function () {
  this.timeout(900_000);

  for (let i = 0; i < CASES; i++) {
    it(`configuration ${i + 1} of ${CASES} (replay: TEST_SEED=${RUN_SEED})`, () => checkTrainingStep(randomMobileVit((RUN_SEED + 7919 * (i + 1)) >>> 0)));
  }

  // Full width, where the small random configurations are not: the sizes of issue 44's report.
  it(`the published x-small (heads of 24, 30 and 36 channels, expand 4), batch 2 at 65x97, the fixtures' weights (replay: TEST_SEED=${RUN_SEED})`, () =>
    checkTrainingStep(publishedXSmall(RUN_SEED)));
});
