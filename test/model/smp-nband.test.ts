// N-band input for an smp model of in_channels 5 (scripts/fixtures/smp-nband/, test/fixtures/smp-nband/:
// smp's own DeepLabV3Plus resnet18, PRNG weights, float64 references): bands given as typed arrays
// to segment(), normalised per channel (the caller's mean and std for 16-bit data, the default rule
// for 8-bit), padded to the output stride and cropped back as smp's users pad; the same bands as a
// multi-band TIFF through sharp and the CLI; and the errors of a wrong band count or statistics.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BandArray } from '../../src/io/band-image.js';
import { decodeImage } from '../../src/io/image.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import type { DeepLabModel } from '../../src/model/model.js';
import { loadModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { safetensorsBytes } from '../../src/model/weights/import/safetensors.js';
import { expectClose, expectRejects, relativeError, testContext } from '../helpers.js';
import { encodeBandTiff } from '../io/tiff-writer.js';
import { rgbToRgba, rgbaTexture } from '../frames.js';
import { messages, runCli } from '../cli/run-cli.js';
import { nchwToNhwc } from './layout.js';
import { stateDictSha256 } from './mmseg-prng.js';
import { smpFixture, smpStateDict, writeSmpFolder } from './smp-fixture.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'smp-nband');
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8'));

/** The fixture's smp folder: its config.json and the PRNG's model.safetensors, the tensors' hash checked. */
function writeFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'smp-nband-'));
  const state = smpStateDict({ rows: manifest.tensors, sha256All: manifest.sha256_all, encoderName: 'resnet18' });
  expect(stateDictSha256(state), 'the PRNG tensors hash to the manifest\'s').to.equal(manifest.sha256_all);
  writeFileSync(join(dir, 'config.json'), readFileSync(join(FIXTURES, 'config.json')));
  writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(state));
  return dir;
}

/** The fixture's bands [H, W, C] (interleaved) as the typed array they are. */
function bands(name: string, type: 'u8' | 'u16'): BandArray {
  const x = readNpy(join(FIXTURES, name));
  const [height, width, channels] = x.shape;
  const data = type === 'u8' ? Uint8Array.from(x.data) : Uint16Array.from(x.data);
  return { width, height, channels, data, layout: 'interleaved' };
}

/** The same bands, one plane per band. */
function planar(b: BandArray): BandArray {
  const n = b.width * b.height;
  const data = new (b.data.constructor as Uint16ArrayConstructor)(b.data.length);
  for (let p = 0; p < n; p++) for (let c = 0; c < b.channels; c++) data[c * n + p] = b.data[p * b.channels + c];
  return { ...b, data, layout: 'planar' };
}

/** The reference [1, C, H, W] logits as NHWC, and their argmax. */
function reference(name: string): { logits: Float32Array; labels: Uint8Array } {
  const ref = readNpy(join(FIXTURES, name));
  const [c, h, w] = ref.shape;
  const logits = nchwToNhwc(ref.data as Float32Array, [1, c, h, w]);
  const labels = new Uint8Array(h * w);
  for (let p = 0; p < h * w; p++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (logits[p * c + k] > logits[p * c + best]) best = k;
    labels[p] = best;
  }
  return { logits, labels };
}

function expectLabels(classes: Uint8Array, want: Uint8Array, what: string): void {
  const same = classes.filter((v, i) => v === want[i]).length / want.length;
  console.log(`      ${what}: ${(100 * same).toFixed(2)} % of pixels labelled as smp`);
  expect(same, `${what}: share of pixels labelled as smp does`).to.be.at.least(0.999);
}

const U16 = bands('bands_u16_48x64.npy', 'u16');
const U8 = bands('bands_u8_42x55.npy', 'u8');
const STATS = { mean: manifest.u16_mean as number[], std: manifest.u16_std as number[] };

describe('smp N-band input (in_channels 5) against smp float64', function () {
  this.timeout(600_000);
  let dir = '';
  let model: DeepLabModel;
  before(async () => {
    dir = writeFolder();
    model = await loadModel(dir, { ctx: await testContext() });
  });
  after(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwardToHost takes 5 normalised channels: smp\'s logits within 1e-4', async () => {
    const { width: w, height: h, data } = U16;
    const input = Float32Array.from(data, (x, i) => (x - STATS.mean[i % 5]) / STATS.std[i % 5]);
    const out = await model.forwardToHost(input, h, w);
    const ref = reference('logits_u16_48x64.npy');
    console.log(`      forwardToHost 48x64: relative error ${relativeError(out, ref.logits).toExponential(2)}`);
    expectClose(out, ref.logits, 'forwardToHost 48x64');
  });

  it('segment() of 16-bit bands with the caller\'s mean and std: logits within 1e-4, labels >= 99.9 %; planar gives the same', async () => {
    const ref = reference('logits_u16_48x64.npy');
    const r = await model.segment(U16, { ...STATS, include: ['logits'] });
    console.log(`      16-bit bands 48x64: relative error ${relativeError(r.logits!, ref.logits).toExponential(2)}`);
    expectClose(r.logits!, ref.logits, '16-bit bands 48x64');
    expectLabels(r.classes, ref.labels, '16-bit bands 48x64');
    const p = await model.segment(planar(U16), STATS);
    expect(Array.from(p.classes)).to.deep.equal(Array.from(r.classes));
  });

  it('segment() of 8-bit bands with the default rule (x / 255, ImageNet\'s statistics band i mod 3), padded to the stride and cropped back', async () => {
    const ref = reference('logits_u8_42x55.npy');
    const r = await model.segment(U8, { include: ['logits'] });
    expect([r.width, r.height]).to.deep.equal([55, 42]);
    console.log(`      8-bit bands 42x55 (padded to 48x64): relative error ${relativeError(r.logits!, ref.logits).toExponential(2)}`);
    expectClose(r.logits!, ref.logits, '8-bit bands 42x55');
    expectLabels(r.classes, ref.labels, '8-bit bands 42x55');
    // The default rule written out as statistics gives the same.
    const stats = { mean: [0.485, 0.456, 0.406, 0.485, 0.456], std: [0.229, 0.224, 0.225, 0.229, 0.224] };
    const same = await model.segment(U8, { ...stats, include: ['logits'] });
    expectClose(same.logits!, ref.logits, '8-bit bands, statistics given');
  });

  it('float bands, batches, flips and tiles take bands', async () => {
    const floats: BandArray = { ...U16, data: Float32Array.from(U16.data) };
    const ref = reference('logits_u16_48x64.npy');
    const [a, b] = await model.segmentBatch([floats, U16], STATS);
    expectLabels(a.classes, ref.labels, 'float bands in a batch');
    expect(Array.from(b.classes)).to.deep.equal(Array.from(a.classes));
    const flipped = await model.segment(U16, { ...STATS, flip: true });
    expect(flipped.classes.length).to.equal(48 * 64);
    const tiled = await model.segment(U16, { ...STATS, tile: 32, include: ['probabilities'] });
    expect(tiled.probabilities!.length).to.equal(48 * 64 * 3);
  });

  it('refuses a wrong band count, statistics of the wrong length, 16-bit bands without statistics, RGB and a resize, naming each', async () => {
    const four: BandArray = { ...U16, channels: 4, data: U16.data.subarray(0, 48 * 64 * 4) };
    await expectRejects(model.segment(four, { mean: STATS.mean.slice(0, 4), std: STATS.std.slice(0, 4) }), /the image has 4 bands; .* takes 5 \(in_channels 5\)/);
    await expectRejects(model.segment(U16, { mean: STATS.mean.slice(0, 4), std: STATS.std }), /mean has 4 values; .* takes 5 input channels/);
    await expectRejects(model.segment(U16, { mean: STATS.mean, std: [...STATS.std, 1] }), /std has 6 values; .* takes 5 input channels/);
    await expectRejects(model.segment(U16), /16-bit bands need their mean and std/);
    await expectRejects(model.segment({ ...U16, data: Float32Array.from(U16.data) }), /float bands need their mean and std/);
    await expectRejects(model.segment(U16, { mean: STATS.mean }), /mean and std go together/);
    await expectRejects(model.segment(U16, { ...STATS, std: [1, 1, 0, 1, 1] }), /std must be positive, got std\[2\] = 0/);
    await expectRejects(model.segment({ width: 2, height: 2, data: new Uint8Array(12) }), /takes 5 bands \(in_channels 5\), not an RGB image/);
    await expectRejects(model.segment({ ...U16, layout: undefined } as unknown as BandArray, STATS), /layout 'interleaved'/);
    await expectRejects(model.segment(U16, { ...STATS, scales: [0.5] }), /bands \(and images given with mean and std\) are run at their own size; .* makes a 64x48 image 32x24 at scale 0.5/);
  });

  it('the CLI segments 16-bit and 8-bit 5-band TIFFs (sharp) as segment() does, and refuses a 4-band one and 16-bit bands without --mean/--std', async () => {
    const out = mkdtempSync(join(tmpdir(), 'smp-nband-cli-'));
    try {
      const u16 = join(out, 'scene16.tif');
      const u8 = join(out, 'scene8.tif');
      const four = join(out, 'four.tif');
      writeFileSync(u16, encodeBandTiff(64, 48, 5, U16.data, 16));
      writeFileSync(u8, encodeBandTiff(55, 42, 5, U8.data, 8));
      writeFileSync(four, encodeBandTiff(64, 48, 4, U16.data.subarray(0, 48 * 64 * 4), 16));
      const r16 = await runCli(['segment', u16, '--model', dir, '--out', out, '--overlay', '--mean', STATS.mean.join(','), '--std', STATS.std.join(',')]);
      expect(r16.code, messages(r16.stderr)).to.equal(0);
      expectLabels(readIndexedPng(readFileSync(join(out, 'scene16.png'))).indices, reference('logits_u16_48x64.npy').labels, 'CLI, 16-bit TIFF');
      // The overlay is drawn on bands 0..2, each stretched over its range: a picture of the scene's size.
      const overlay = await decodeImage(readFileSync(join(out, 'scene16_overlay.png')));
      expect([overlay.width, overlay.height]).to.deep.equal([64, 48]);
      const r8 = await runCli(['segment', u8, '--model', dir, '--out', out]);
      expect(r8.code, messages(r8.stderr)).to.equal(0);
      expectLabels(readIndexedPng(readFileSync(join(out, 'scene8.png'))).indices, reference('logits_u8_42x55.npy').labels, 'CLI, 8-bit TIFF');
      const bad = await runCli(['segment', four, '--model', dir, '--out', out, '--mean', '0,0,0,0', '--std', '1,1,1,1']);
      expect(bad.code).to.equal(1);
      expect(messages(bad.stderr)).to.match(/four\.tif.*has 4 bands; .* takes 5 \(in_channels 5\)/);
      const bare = await runCli(['segment', u16, '--model', dir, '--out', join(out, 'bare')]);
      expect(bare.code).to.equal(1);
      expect(messages(bare.stderr)).to.match(/16-bit bands need their mean and std/);
      const half = await runCli(['segment', u16, '--model', dir, '--out', out, '--mean', '1,2,3,4,5']);
      expect(half.code).to.not.equal(0);
      expect(messages(half.stderr)).to.match(/--mean and --std go together/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('smp bands for 1 and 3 input channels: the band path gives what the image path gives', function () {
  this.timeout(600_000);
  for (const [folder, channels] of [['deeplabv3-mobilenet_v2', 1], ['deeplabv3plus-resnet34', 3]] as const) {
    it(`${folder} (in_channels ${channels}): 8-bit bands as the RGB image${channels === 1 ? "'s gray" : ''}, and the image with the model's own mean and std`, async () => {
      const { dir } = writeSmpFolder(folder);
      const model = await loadModel(dir, { ctx: await testContext() });
      try {
        const x = readNpy(smpFixture(folder, 'input_64x64_uint8.npy'));
        const [height, width] = x.shape;
        // The gray fixture's input is one plane; as RGB it is three equal channels (Pillow's 'L' gives it back).
        const rgb = { width, height, data: channels === 1 ? Uint8Array.from({ length: height * width * 3 }, (_, i) => x.data[Math.floor(i / 3)]) : Uint8Array.from(x.data) };
        const band: BandArray = { width, height, channels, data: Uint8Array.from(x.data), layout: 'interleaved' };
        const image = await model.segment(rgb, { include: ['logits'] });
        const asBands = await model.segment(band, { include: ['logits'] });
        const stats = channels === 1 ? { mean: [0.485], std: [0.229] } : { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
        const withStats = await model.segment(rgb, { ...stats, include: ['logits'] });
        const [e1, e2] = [relativeError(asBands.logits!, image.logits!), relativeError(withStats.logits!, image.logits!)];
        console.log(`      ${folder}: bands vs image ${e1.toExponential(2)}, image with mean/std vs image ${e2.toExponential(2)}`);
        expect(e1).to.be.lessThan(1e-5);
        expect(e2).to.be.lessThan(1e-5);
        const wrong = channels === 1 ? { mean: [0.5, 0.5], std: [0.5, 0.5] } : { mean: [0.5], std: [0.5] };
        await expectRejects(model.segment(rgb, wrong), new RegExp(`mean has ${wrong.mean.length} values; .* takes ${channels} input channels`));
        if (channels === 3) {
          const texture = rgbaTexture(await testContext(), width, height, rgbToRgba(rgb));
          try {
            await expectRejects(model.segment(texture, stats), /mean and std are for still images/);
          } finally {
            texture.destroy();
          }
        }
      } finally {
        model.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
