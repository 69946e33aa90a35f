// Which network output segment()'s post-processing reads: the logits at the network's input for
// most pipelines; for hub models (transformers' post_process_semantic_segmentation) the head's own
// logits, resized once. The graph rule on its own, then a hub folder on every path segment() takes
// (a batch, a frame, flipped passes, tiles), each against another path's result.
import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import { readImage } from '../../src/io/image.js';
import { cropRgb } from '../../src/io/rgb-image.js';
import { resizesHeadLogits } from '../../src/model/input-policy.js';
import { flipRgb } from '../../src/model/image-input.js';
import { loadModel } from '../../src/model/model.js';
import type { DeepLabModel } from '../../src/model/model.js';
import { postLogitsOf, withOwnOutput, withRawLogits } from '../../src/model/post-logits.js';
import { rgbToRgba, rgbaTexture } from '../frames.js';
import { expectClose, expectThrows, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

describe('model: the logits post-processing reads', () => {
  it("the head's own logits are the input of the resize that makes 'logits'", () => {
    const b = new GraphBuilder();
    const head = b.conv2d('head', b.input('image', [1, 8, 12, 3]), b.param('head.w', [3, 3, 3, 5]), { stride: 4, padding: 1 });
    b.output('logits', b.resize('logits_upsample', head, 8, 12, 'half_pixel'));
    const graph = withRawLogits(b.build());
    expect(graph.outputs.get('logits_raw')).to.equal(head);
    expect(postLogitsOf(graph, true)).to.deep.equal({ name: 'logits_raw', height: 2, width: 3 });
    expect(postLogitsOf(b.build(), true)).to.deep.equal({ name: 'logits', height: 8, width: 12 });
    // A pipeline that resizes the logits at the input reads them, whatever else the graph outputs (an ONNX file's own output).
    expect(postLogitsOf(withOwnOutput(b.build(), head), false)).to.deep.equal({ name: 'logits', height: 8, width: 12 });
    expect(postLogitsOf(withOwnOutput(b.build(), head), true)).to.deep.equal({ name: 'logits_raw', height: 2, width: 3 });
    expect(withOwnOutput(b.build(), undefined).outputs.has('logits_raw')).to.equal(false);
  });

  it("a network whose 'logits' no resize makes is refused: its head's own output is unknown", () => {
    const b = new GraphBuilder();
    b.output('logits', b.conv2d('head', b.input('image', [1, 8, 12, 3]), b.param('head.w', [1, 1, 3, 5])));
    expectThrows(() => withRawLogits(b.build()), /logits are made by 'head' \(conv2d\), not a resize of its head's output/);
  });
});

describe("model: a hub folder's head logits are resized once on every path @slow", function () {
  this.timeout(600_000);
  const SCALE = 0.25; // the network at 128x128: the 512x512 crop at a quarter
  let model: DeepLabModel;
  let img: Awaited<ReturnType<typeof readImage>>;
  before(async () => {
    model = await loadModel(sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small'), { ctx: await testContext() });
    expect(resizesHeadLogits(model.inputPolicy)).to.equal(true);
    img = cropRgb(await readImage(sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg')), 40, 30, 203, 151);
  });
  after(() => model?.dispose());

  it('a frame on the GPU is labelled as the still image is (>= 99.9 %)', async () => {
    const ctx = await testContext();
    const texture = rgbaTexture(ctx, img.width, img.height, rgbToRgba(img));
    try {
      const frame = await model.segment(texture, { scales: [SCALE] });
      const still = await model.segment(img, { scales: [SCALE] });
      // The frame kernels resize in float, not in torch's int16 fixed point: a few labels at class edges move.
      const same = frame.classes.filter((v, i) => v === still.classes[i]).length;
      expect(same / still.classes.length, 'share of labels equal').to.be.at.least(0.999);
    } finally {
      texture.destroy();
    }
  });

  it("flipped passes average the two still images' probabilities (the mirror undone)", async () => {
    const averaged = await model.segment(img, { scales: [SCALE], flip: true, include: ['probabilities'] });
    const plain = (await model.segment(img, { scales: [SCALE], include: ['probabilities'] })).probabilities!;
    const mirrored = (await model.segment(flipRgb(img), { scales: [SCALE], include: ['probabilities'] })).probabilities!;
    const C = model.numClasses;
    const want = new Float32Array(plain.length);
    for (let y = 0; y < img.height; y++)
      for (let x = 0; x < img.width; x++)
        for (let c = 0; c < C; c++) want[(y * img.width + x) * C + c] = (plain[(y * img.width + x) * C + c] + mirrored[(y * img.width + img.width - 1 - x) * C + c]) / 2;
    expectClose(averaged.probabilities!, want, 'flip-averaged probabilities');
  });

  it('one tile over the whole image gives the still image\'s probabilities', async () => {
    const tiled = await model.segment(img, { tile: 256, include: ['probabilities'] });
    const still = await model.segment(img, { include: ['probabilities'] });
    expectClose(tiled.probabilities!, still.probabilities!, 'one tile against the still image');
  });

  it("a batch of two gives each image's logits as segment() alone does; forwardToHost still gives the logits at the input", async () => {
    const other = flipRgb(img);
    const [a, b] = await model.segmentBatch([img, other], { include: ['logits'], scales: [SCALE] });
    expectClose(a.logits!, (await model.segment(img, { include: ['logits'], scales: [SCALE] })).logits!, 'first of the batch');
    expectClose(b.logits!, (await model.segment(other, { include: ['logits'], scales: [SCALE] })).logits!, 'second of the batch');
    const { input, height, width } = model.preprocess(img, SCALE);
    expect((await model.forwardToHost(input, height, width)).length).to.equal(height * width * model.numClasses);
  });
});
