// `deeplab train --device cpu` against the same run on WebGPU, as a user runs it: 100 steps on a
// small copy of CamVid reach the same validation mIoU on both devices (within a point).
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunLog, smallCamvid } from '../train/small-camvid.js';
import { messages, runCli } from './run-cli.js';

describe('deeplab train --device cpu @slow', function () {
  this.timeout(1_800_000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deeplab-train-cpu-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('100 steps on a CamVid sample reach the validation mIoU of the same run on WebGPU, within 1 point', async () => {
    const data = smallCamvid(tmp, 8);
    const mIoU: Record<string, number> = {};
    for (const device of ['cpu', 'webgpu']) {
      const out = join(tmp, device);
      const r = await runCli(['train', '--data', data, '--out', out, '--device', device, '--steps', '100', '--batch', '2', '--crop', '65', '--workers', '0', '--seed', '3']);
      expect(r.code, messages(r.stderr)).to.equal(0);
      const log = readRunLog(out);
      expect(log.map((l) => l.step)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 1));
      mIoU[device] = log.at(-1)!.valMIoU!;
    }
    console.log(`      (validation mIoU after 100 steps: CPU ${mIoU.cpu.toFixed(2)}, WebGPU ${mIoU.webgpu.toFixed(2)})`);
    expect(Math.abs(mIoU.cpu - mIoU.webgpu), 'mIoU points apart').to.be.at.most(1);
  });
});
