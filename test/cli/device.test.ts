// `--device` in the CLI: a shard of a manifest segmented on the CPU as on WebGPU, a training run on
// the CPU resumed on WebGPU, and the notes 'auto' gives once where it kept a model (or a training
// run) on a software adapter.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { classAgreement } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { readRunLog, smallCamvid } from '../train/small-camvid.js';
import { messages, runCli } from './run-cli.js';

const IMAGES = sharedPath('data', 'voc-sample', 'JPEGImages');
const PHOTOS = ['2007_000032.jpg', '2007_000033.jpg', 'voc12val_0001.png', 'voc12val_0008.png'];

function mask(path: string): Uint8Array {
  return readIndexedPng(readFileSync(path), path).indices;
}

describe('deeplab --device', function () {
  this.timeout(300_000);
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deeplab-cli-device-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('segment --device cpu: a shard of a manifest, resumable, its masks those of --device webgpu (>= 99.9 % of pixels)', async () => {
    const manifest = join(tmp, 'images.txt');
    writeFileSync(manifest, PHOTOS.map((p) => join(IMAGES, p)).join('\n') + '\n');
    const cpuOut = join(tmp, 'cpu');
    const cpu = await runCli(['segment', '--manifest', manifest, '--shard', '0/2', '--device', 'cpu', '--out', cpuOut, '--summary', join(tmp, 's0.jsonl')]);
    expect(cpu.code, messages(cpu.stderr)).to.equal(0);
    const records = readFileSync(join(tmp, 's0.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { input: string; status: string });
    expect(records.map((r) => [r.input.split('/').pop(), r.status])).to.deep.equal([
      [PHOTOS[0], 'segmented'],
      [PHOTOS[2], 'segmented'],
    ]);
    const gpuOut = join(tmp, 'webgpu');
    const gpu = await runCli(['segment', join(IMAGES, PHOTOS[0]), join(IMAGES, PHOTOS[2]), '--device', 'webgpu', '--out', gpuOut]);
    expect(gpu.code, messages(gpu.stderr)).to.equal(0);
    for (const p of [PHOTOS[0], PHOTOS[2]]) {
      const name = p.replace('.jpg', '.png');
      expect(classAgreement(mask(join(cpuOut, name)), mask(join(gpuOut, name))), name).to.be.at.least(0.999);
    }
  });

  it('train --device cpu: a run of 3 steps on the CPU, its folder resumed on WebGPU to step 5, logs every step once with its loss and validations @slow', async () => {
    const data = smallCamvid(tmp, 2);
    const out = join(tmp, 'run');
    const common = ['train', '--data', data, '--out', out, '--batch', '1', '--crop', '33', '--workers', '0', '--eval-every', '2', '--eval-limit', '1', '--steps', '3'];
    const first = await runCli([...common, '--device', 'cpu']);
    expect(first.code, messages(first.stderr)).to.equal(0);
    expect(first.stdout).to.match(/^trained 3 steps in \d+ s, best validation mIoU [\d.]+; outputs in /);
    const log = readRunLog(out);
    expect(log.map((r) => r.step)).to.deep.equal([1, 2, 3]);
    expect(log.every((r) => Number.isFinite(r.loss))).to.equal(true);
    expect(log.filter((r) => r.valMIoU !== undefined).map((r) => r.step)).to.deep.equal([2, 3]);
    // The same folder continued on WebGPU: a checkpoint of the CPU's resumes there.
    const more = await runCli([...common.slice(0, -1), '5', '--device', 'webgpu', '--resume']);
    expect(more.code, messages(more.stderr)).to.equal(0);
    expect(messages(more.stderr)).to.match(/resuming .*latest\.safetensors at step 3/);
    expect(readRunLog(out).map((r) => r.step)).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it("train with 'auto' on a software adapter says once which device trains faster, with both figures @slow", async () => {
    const data = smallCamvid(tmp, 1);
    const cache = join(tmp, 'cache');
    const args = (out: string) => ['train', '--data', data, '--out', join(tmp, out), '--batch', '1', '--crop', '33', '--workers', '0', '--steps', '1'];
    const first = await runCli(args('a'), { DEEPLAB_CACHE_DIR: cache });
    expect(first.code, messages(first.stderr)).to.equal(0);
    expect(messages(first.stderr)).to.match(
      /deeplab: .* is a software adapter .*: a training step of mobilenetv2-pascal-257 \(one 33x33 crop\) takes \d+ ms on it and \d+ ms on the CPU \(onnxruntime-node [\d.]+\); (the CPU .* is [\d.]+x faster: add --device cpu|.* is [\d.]+x faster than the CPU .*) \(said once/,
    );
    const second = await runCli(args('b'), { DEEPLAB_CACHE_DIR: cache });
    expect(second.code, messages(second.stderr)).to.equal(0);
    expect(messages(second.stderr)).not.to.match(/software adapter/);
  });

  it("'auto' on a software adapter says once, with both figures, that --device cpu is faster", async () => {
    const cache = join(tmp, 'cache');
    const photo = join(IMAGES, PHOTOS[0]);
    const first = await runCli(['segment', photo, '--out', join(tmp, 'a')], { DEEPLAB_CACHE_DIR: cache });
    expect(first.code, messages(first.stderr)).to.equal(0);
    expect(messages(first.stderr)).to.match(/deeplab: .* is a software adapter .*: a pass of mobilenetv2-pascal-257 takes \d+ ms on it and \d+ ms on the CPU \(onnxruntime-node [\d.]+\), [\d.]+x faster: add --device cpu/);
    const second = await runCli(['segment', photo, '--out', join(tmp, 'b')], { DEEPLAB_CACHE_DIR: cache });
    expect(second.code, messages(second.stderr)).to.equal(0);
    expect(messages(second.stderr)).not.to.match(/software adapter/);
    // Asked for, the device is not second-guessed.
    const asked = await runCli(['segment', photo, '--out', join(tmp, 'c'), '--device', 'webgpu'], { DEEPLAB_CACHE_DIR: join(tmp, 'cache2') });
    expect(messages(asked.stderr)).not.to.match(/software adapter/);
  });
});
