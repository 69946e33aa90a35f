// `deeplab eval` end to end on the VOC sample (two images, to keep it quick on lavapipe).
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfusionJson } from '../../src/eval/metrics.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { VOC_CLASSES } from '../../src/model/voc.js';
import { messages, runCli } from './run-cli.js';
import { sharedPath } from '../shared.js';

const VOC = sharedPath('data', 'voc-sample');

describe('deeplab eval', function () {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deeplab-eval-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('--limit 2 --json FILE prints the table and writes every score key in percent, and the confusion matrix', async () => {
    const json = join(tmp, 'out.json');
    const started = performance.now();
    const r = await runCli(['eval', '--voc', VOC, '--limit', '2', '--json', json]);
    const wallSeconds = (performance.now() - started) / 1000;
    expect(r.code, messages(r.stderr)).to.equal(0);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(doc).sort()).to.deep.equal(
      ['model', 'split', 'images', 'mIoU', 'mIoU21', 'pixelAccuracy', 'perClass', 'dicePerClass', 'confusion', 'outputStride', 'scales', 'flip', 'precision', 'seconds'].sort(),
    );
    expect(doc.model).to.equal('mobilenetv2-pascal-257');
    expect(doc.split).to.equal('val');
    expect(doc.images).to.equal(2);
    expect(doc.outputStride).to.equal(8);
    expect(doc.precision).to.equal('f32');
    expect(doc.scales).to.deep.equal([1]);
    expect(doc.flip).to.equal(false);
    // The evaluation's own time, in seconds: within the whole command's.
    expect(doc.seconds as number).to.be.greaterThan(0).and.at.most(wallSeconds);
    const perClass = doc.perClass as Record<string, number | null>;
    expect(Object.keys(perClass)).to.deep.equal([...VOC_CLASSES]);
    // The first two val images hold background and aeroplanes, predicted well: percent, not fractions.
    expect(perClass.background as number).to.be.within(80, 100);
    expect(perClass.aeroplane as number).to.be.within(50, 100);
    expect(perClass.cat).to.equal(null);
    const present = Object.values(perClass).filter((v): v is number => v !== null);
    expect(doc.mIoU as number).to.be.closeTo(present.reduce((a, b) => a + b, 0) / present.length, 1e-9);
    expect(doc.mIoU21 as number).to.be.closeTo(present.reduce((a, b) => a + b, 0) / 21, 1e-9);
    expect(doc.pixelAccuracy as number).to.be.within(80, 100);

    // The confusion matrix: its rows hold every non-ignored ground-truth pixel of the two images,
    // and the scores above follow from its counts.
    const confusion = doc.confusion as ConfusionJson;
    expect(confusion.classes).to.deep.equal([...VOC_CLASSES]);
    expect([confusion.rows, confusion.columns, confusion.ignoreIndex]).to.deep.equal(['ground truth', 'prediction', 255]);
    expect(confusion.counts).to.have.length(21);
    expect(confusion.counts.every((row) => row.length === 21 && row.every((v) => Number.isInteger(v) && v >= 0))).to.equal(true);
    const gtPixels = new Array<number>(21).fill(0);
    const ids = readFileSync(`${VOC}/ImageSets/Segmentation/val.txt`, 'utf8').split(/\s+/).filter(Boolean).slice(0, 2);
    for (const id of ids) for (const v of readIndexedPng(readFileSync(`${VOC}/SegmentationClass/${id}.png`), id).indices) if (v !== 255) gtPixels[v]++;
    expect(confusion.counts.map((row) => row.reduce((a, b) => a + b, 0))).to.deep.equal(gtPixels);
    const total = gtPixels.reduce((a, b) => a + b, 0);
    expect(doc.pixelAccuracy as number).to.be.closeTo((100 * confusion.counts.reduce((a, row, c) => a + row[c], 0)) / total, 1e-9);
    VOC_CLASSES.forEach((name, c) => {
      const predicted = confusion.counts.reduce((a, row) => a + row[c], 0);
      const union = gtPixels[c] + predicted - confusion.counts[c][c];
      const dice = (doc.dicePerClass as Record<string, number | null>)[name];
      if (union === 0) expect([perClass[name], dice], name).to.deep.equal([null, null]);
      else {
        expect(perClass[name], name).to.be.closeTo((100 * confusion.counts[c][c]) / union, 1e-9);
        expect(dice, `${name} Dice`).to.be.closeTo((200 * confusion.counts[c][c]) / (gtPixels[c] + predicted), 1e-9);
      }
    });

    expect(r.stdout).to.contain('split val (2 of 9 images)');
    expect(r.stdout).to.match(new RegExp(`^mIoU \\(present classes\\)\\s+${(doc.mIoU as number).toFixed(2)}$`, 'm'));
    expect(r.stdout).to.match(/^aeroplane\s+\d+\.\d\d\s+\d+\.\d\d$/m);
    expect(r.stdout).to.match(/images\/s/);
    expect(r.stderr).to.match(/eval\s+2\/2 .* img\/s/); // progress
  });

  it('--precision f16 runs the network in half precision and says so; a bad precision is a usage error', async () => {
    const json = join(tmp, 'half.json');
    const r = await runCli(['eval', '--voc', VOC, '--limit', '1', '--precision', 'f16', '--json', json]);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(r.stdout).to.match(/^model mobilenetv2-pascal-257 \(f16\), split val/);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
    expect(doc.precision).to.equal('f16');
    expect(doc.mIoU).to.be.a('number').above(50);
    const bad = await runCli(['eval', '--voc', VOC, '--precision', 'half']);
    expect(bad.code).to.equal(2);
    expect(messages(bad.stderr)).to.match(/--precision: 'half' is not one of f32, f16/);
  });

  it('reports a missing --voc, a missing split and an unwritable --json before any work', async () => {
    const noVoc = await runCli(['eval']);
    expect(noVoc.code).to.equal(2);
    expect(messages(noVoc.stderr)).to.contain("'eval' needs --voc DIR");

    const split = await runCli(['eval', '--voc', VOC, '--split', 'test']);
    expect(split.code).to.equal(1);
    expect(messages(split.stderr)).to.match(/^deeplab: listVocSplit.*no split file .*test\.txt; available splits: train, val$/m);

    const json = join(tmp, 'missing-folder', 'out.json');
    const badJson = await runCli(['eval', '--voc', VOC, '--json', json]);
    expect(badJson.code).to.equal(1);
    expect(messages(badJson.stderr)).to.contain(`--json ${json}: the folder`);
    expect(existsSync(join(tmp, 'missing-folder'))).to.equal(false);

    const limit = await runCli(['eval', '--voc', VOC, '--limit', '0']);
    expect(limit.code).to.equal(2);
    expect(messages(limit.stderr)).to.contain("--limit: '0' is not a positive integer");
  });
});
