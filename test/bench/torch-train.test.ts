// PyTorch as the train part's peer (bench/torch-train.ts): its time where python imports torch,
// and where it cannot run, a row that says why instead of a crash. Stand-in interpreters (shell
// scripts) play python: one without torch, one whose run fails, one that writes nothing, one
// that reports a step.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { settleDefaults } from '../../bench/settle.js';
import { torchTrainStep } from '../../bench/torch-train.js';
import { rng } from '../helpers.js';

describe('bench: PyTorch as a training peer', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'torch-peer-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in python: `-c` (the import probe) exits with `probe`; a run does `run` (bash). */
  const python = (name: string, probe: number, run: string): string => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/bash\nif [ "$1" = -c ]; then echo "ModuleNotFoundError: No module named 'torch'" >&2; exit ${probe}; fi\n${run}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const o = { batch: 2, crop: 129, heavyRepeats: 1, settle: settleDefaults({ quick: false, warmup: 2, budgetSeconds: 7 }) };

  it("reports the step's time as torch_peer.py wrote it, with the arguments of the case", () => {
    const ms = 100 + 900 * rng()();
    // The stand-in writes its report where --out says, and its arguments beside it.
    const run = `out=""; prev=""; for a in "$@"; do [ "$prev" = --out ] && out="$a"; prev="$a"; done
echo "$@" > ${dir}/args
echo '{"results": [{"engine": "pytorch 9.9 cpu", "device": "CPU, 2 threads", "medianMs": ${ms}, "p25Ms": 1, "p75Ms": 2000, "firstRunMs": 2000, "samplesMs": [${ms}], "warmupRounds": 12, "settled": false}]}' > "$out"`;
    const r = torchTrainStep('resnet50', o, python('ok', 0, run));
    expect(r).to.deep.equal({ version: 'pytorch 9.9 cpu', device: 'CPU, 2 threads', medianMs: ms, p25Ms: 1, p75Ms: 2000, samplesMs: [ms], warmupRounds: 12, settled: false, firstRunMs: 2000 });
    const args = readFileSync(join(dir, 'args'), 'utf8');
    expect(args).to.match(/^bench\/torch_peer\.py --train --model resnet50-os16 --batch 2 --crop 129 --repeats 1 --warmup 2 --warmup-budget 7 --out /);
  });

  it('says why where torch is missing, the run fails or writes nothing, or python is absent', () => {
    const missing = torchTrainStep('resnet50', o, python('no-torch', 1, 'exit 0'));
    expect(missing).to.have.property('error').that.matches(/cannot import torch and torchvision here \(ModuleNotFoundError: No module named 'torch'\)/);
    const failed = torchTrainStep('resnet50', o, python('fails', 0, 'echo "CUDA out of memory" >&2; exit 1'));
    expect(failed).to.have.property('error').that.matches(/torch_peer\.py --train failed \(exit 1\): CUDA out of memory/);
    const silent = torchTrainStep('resnet50', o, python('silent', 0, 'exit 0'));
    expect(silent).to.have.property('error').that.matches(/wrote no readable report/);
    const absent = torchTrainStep('resnet50', o, join(dir, 'no-such-python'));
    expect(absent).to.have.property('error').that.matches(/no-such-python cannot import torch and torchvision here \(.*ENOENT/);
    expect(torchTrainStep('mobilenetv2-257', o)).to.have.property('error').that.matches(/no PyTorch model of mobilenetv2-257/);
  });
});
