// `deeplab segment` end to end: the built CLI in a child process on real VOC images with the
// real 257 model (each run loads the model: a few seconds on lavapipe, so few runs).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage, readImage } from '../../src/io/image.js';
import { overlayPalette } from '../../src/io/overlay.js';
import { readPngChunks } from '../../src/io/png-chunks.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { VOC_PALETTE } from '../../src/model/voc.js';
import { messages, runCli } from './run-cli.js';
import { sharedPath } from '../shared.js';

const IMAGES = sharedPath('data', 'voc-sample', 'JPEGImages');
const TFLITE = sharedPath('fixtures', 'tflite');

function maxOf(a: Uint8Array): number {
  return a.reduce((m, v) => (v > m ? v : m), 0);
}

function readMask(path: string) {
  return readIndexedPng(readFileSync(path), path);
}

describe('deeplab segment', function () {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deeplab-cli-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes a VOC palette PNG of class indices and an overlay for one image', async () => {
    const input = `${IMAGES}/2007_000033.jpg`;
    const out = join(tmp, 'masks'); // does not exist yet: the CLI creates it
    const r = await runCli(['segment', input, '--out', out, '--overlay']);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(readdirSync(out).sort()).to.deep.equal(['2007_000033.png', '2007_000033_overlay.png']);

    const img = await readImage(input);
    const bytes = readFileSync(join(out, '2007_000033.png'));
    const mask = readMask(join(out, '2007_000033.png'));
    expect([mask.width, mask.height]).to.deep.equal([img.width, img.height]);
    expect(maxOf(mask.indices)).to.be.at.most(20);
    // The palette is the full VOC colour map, so viewers show the standard colours.
    const plte = readPngChunks(bytes, 'mask').find((c) => c.type === 'PLTE');
    expect(plte, 'PLTE chunk').to.not.equal(undefined);
    expect(Buffer.from(plte!.data).equals(Buffer.from(VOC_PALETTE))).to.equal(true);
    // The prediction is TF Lite's own pipeline's (same model): near-total pixel agreement.
    const ref = readMask(`${TFLITE}/2007_000033_pred_full.png`);
    let same = 0;
    for (let i = 0; i < ref.indices.length; i++) if (ref.indices[i] === mask.indices[i]) same++;
    expect(same / ref.indices.length, 'agreement with TF Lite').to.be.greaterThan(0.995);

    // The overlay is the photo with that mask blended in.
    const overlay = await decodeImage(readFileSync(join(out, '2007_000033_overlay.png')));
    const expected = overlayPalette(img, mask.indices, VOC_PALETTE);
    expect([overlay.width, overlay.height]).to.deep.equal([img.width, img.height]);
    expect(Buffer.from(overlay.data).equals(Buffer.from(expected.data))).to.equal(true);

    // One summary line: input -> outputs, size, classes with their share.
    expect(r.stdout).to.contain(`${input} -> ${join(out, '2007_000033.png')}, ${join(out, '2007_000033_overlay.png')}`);
    expect(r.stdout).to.contain(`${img.width}x${img.height}`);
    expect(r.stdout).to.match(/aeroplane \d+\.\d%/);
    const shares = [...r.stdout.matchAll(/ (\d+\.\d)%/g)].map((m) => Number(m[1]));
    expect(shares.reduce((a, b) => a + b, 0)).to.be.closeTo(100, 0.3);
    expect(r.stderr, "no Dawn start-up warnings in a normal run").to.not.contain('artificially reduced');
  });

  it('segments two images into two files with progress on stderr, and --json reports them', async () => {
    const inputs = [`${IMAGES}/voc12val_0008.png`, `${IMAGES}/2007_000032.jpg`];
    const r = await runCli(['segment', ...inputs, '--out', tmp, '--json']);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(readdirSync(tmp).sort()).to.deep.equal(['2007_000032.png', 'voc12val_0008.png']);
    for (const input of inputs) {
      const stem = input.split('/').pop()!.replace(/\.\w+$/, '');
      const img = await readImage(input);
      const mask = readMask(join(tmp, `${stem}.png`));
      expect([mask.width, mask.height]).to.deep.equal([img.width, img.height]);
      expect(maxOf(mask.indices)).to.be.at.most(20);
    }
    // Not a terminal: plain progress lines with count/total and a rate.
    expect(r.stderr).to.match(/segment\s+1\/2 .* img\/s/);
    expect(r.stderr).to.match(/segment\s+2\/2 .* img\/s/);
    const doc = JSON.parse(r.stdout) as { model: string; images: { input: string; output: string; width: number; classes: Record<string, number> }[] };
    expect(doc.model).to.equal('mobilenetv2-pascal-257');
    expect(doc.images.map((i) => i.input)).to.deep.equal(inputs);
    for (const i of doc.images) expect(Object.values(i.classes).reduce((a, b) => a + b, 0)).to.be.closeTo(100, 0.01);
  });

  it('passes --scales, --flip and --output-stride to the model and records them in --json', async () => {
    const input = `${IMAGES}/2007_000033.jpg`;
    const r = await runCli(['segment', input, '--out', tmp, '--scales', '0.75,1', '--flip', '--output-stride', '16', '--json']);
    expect(r.code, messages(r.stderr)).to.equal(0);
    const doc = JSON.parse(r.stdout) as { outputStride: number; scales: number[]; flip: boolean };
    expect(doc).to.include({ outputStride: 16, flip: true });
    expect(doc.scales).to.deep.equal([0.75, 1]);
    const mask = readMask(join(tmp, '2007_000033.png'));
    const ref = readMask(`${TFLITE}/2007_000033_pred_full.png`);
    let same = 0;
    for (let i = 0; i < ref.indices.length; i++) if (ref.indices[i] === mask.indices[i]) same++;
    // Still the same scene segmented, but not the single-scale output-stride-8 prediction.
    expect(same / ref.indices.length).to.be.greaterThan(0.95).and.lessThan(1);
  });

  it('reports bad images by name, processes the others, exits 1 and leaves no partial files', async () => {
    const good = `${IMAGES}/2007_000033.jpg`;
    const jpeg = readFileSync(good);
    const truncated = join(tmp, 'truncated.jpg');
    writeFileSync(truncated, jpeg.subarray(0, Math.floor(jpeg.length / 3)));
    const textPng = join(tmp, 'notes.png');
    writeFileSync(textPng, 'this is not an image\n');
    const out = join(tmp, 'out');
    const r = await runCli(['segment', truncated, good, textPng, '--out', out]);
    expect(r.code).to.equal(1);
    const err = messages(r.stderr);
    expect(err).to.match(new RegExp(`deeplab: .*${truncated}.*JPEG`));
    expect(err).to.match(new RegExp(`deeplab: .*${textPng}.*unsupported image format`));
    expect(err).to.contain('2 of 3 images failed');
    expect(err).to.not.match(/\n\s+at /); // no stack trace
    // Only the good image's mask; no temporary or partial files.
    expect(readdirSync(out)).to.deep.equal(['2007_000033.png']);
    expect(readMask(join(out, '2007_000033.png')).width).to.equal(500);
  });

  it('refuses missing inputs, naming each, before loading the model', async () => {
    const missing = join(tmp, 'missing.jpg');
    const r = await runCli(['segment', `${IMAGES}/2007_000033.jpg`, missing, tmp, '--out', join(tmp, 'out')]);
    expect(r.code).to.equal(2);
    const err = messages(r.stderr);
    expect(err).to.contain(`${missing}: no such file; ${tmp}: a folder with no images`);
    expect(err, 'nothing loaded').to.not.match(/loading|compil|parsing/i);
    expect(existsSync(join(tmp, 'out'))).to.equal(false);
    const none = await runCli(['segment', '--out', join(tmp, 'out')]);
    expect(none.code).to.equal(2);
    expect(messages(none.stderr)).to.contain("'segment' needs IMAGE (files, folders or patterns) or --manifest FILE");
    const badShard = await runCli(['segment', `${IMAGES}/2007_000033.jpg`, '--shard', '3/3']);
    expect(badShard.code).to.equal(2);
    expect(messages(badShard.stderr)).to.contain("--shard: '3/3': the index counts from 0 and must be below 3 (0..2)");
  });

  it('refuses two inputs with the same name before doing anything', async () => {
    const other = join(tmp, '2007_000033.png');
    copyFileSync(`${IMAGES}/voc12val_0001.png`, other);
    const out = join(tmp, 'out');
    const r = await runCli(['segment', `${IMAGES}/2007_000033.jpg`, other, '--out', out]);
    expect(r.code).to.equal(2);
    expect(messages(r.stderr)).to.contain('would both be written to');
    expect(readdirSync(tmp)).to.deep.equal(['2007_000033.png']); // --out not even created
  });

  it('refuses to overwrite an input image with its own mask', async () => {
    const input = join(tmp, 'photo.png');
    copyFileSync(`${IMAGES}/voc12val_0001.png`, input);
    const before = readFileSync(input);
    const r = await runCli(['segment', input, '--out', tmp]);
    expect(r.code).to.equal(2);
    expect(messages(r.stderr)).to.contain('would overwrite the input image');
    expect(readFileSync(input).equals(before)).to.equal(true);
  });

  it('names an unknown model, an unknown option and a weights file that is not DeepLabv3', async () => {
    const input = `${IMAGES}/2007_000033.jpg`;
    const out = join(tmp, 'out');
    const unknownModel = await runCli(['segment', input, '--out', out, '--model', 'deeplab-nonexistent']);
    expect(unknownModel.code).to.equal(2);
    expect(messages(unknownModel.stderr)).to.match(/unknown model 'deeplab-nonexistent'.*mobilenetv2-pascal-257/);

    const unknownOption = await runCli(['segment', input, '--out', out, '--colour']);
    expect(unknownOption.code).to.equal(2);
    expect(messages(unknownOption.stderr)).to.match(/unknown option '--colour'.*--overlay/);
    expect(unknownOption.stderr).to.contain("deeplab segment --help");

    const pth = join(tmp, 'x.pth');
    writeFileSync(pth, randomBytes(4096));
    const badWeights = await runCli(['segment', input, '--out', out, '--model', pth]);
    expect(badWeights.code).to.equal(1);
    expect(messages(badWeights.stderr)).to.match(new RegExp(`^deeplab: cannot load model: ${pth}`, 'm'));
    expect(badWeights.stderr).to.not.match(/\n\s+at /);
    // Nothing but the weights file: no output (not even the --out folder) from any of the runs.
    expect(readdirSync(tmp)).to.deep.equal(['x.pth']);
  });

  it('prints the stack of a failure with DEEPLAB_DEBUG=1', async () => {
    const pth = join(tmp, 'y.pth');
    writeFileSync(pth, 'PK not really');
    const r = await runCli(['segment', `${IMAGES}/2007_000033.jpg`, '--out', tmp, '--model', pth], { DEEPLAB_DEBUG: '1' });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/\n\s+at /);
  });
});
