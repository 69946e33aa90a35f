// The GPU run's summary (bench/summary.ts) from small step files written here: each figure comes
// from its own row (every value below is distinct, and rows that must not be read hold decoys),
// a missing figure is null with the reason, and the files are found by the GPU's name.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ROOT } from '../../bench/model.js';
import { type StepFile, buildSummary, readStepFiles } from '../../bench/summary.js';
import { expectThrows } from '../helpers.js';

const report = (date: string, results: object[], extra: object = {}) => ({ adapter: 'NVIDIA: 580.65.06 580.65.6.0 (nvidia)', date, quick: false, results, ...extra });
const row = (part: string, model: string, engine: string, more: object) => ({ part, model, engine, batch: 1, firstRunMs: null, peakBytes: null, ...more });

/** One GPU run's step files, as gpu-run.sh names them. */
const STEPS: Record<string, object> = {
  'h200-tests.json': { stats: { suites: 40, tests: 814, passes: 812, pending: 0, failures: 2 }, tests: [], pending: [], failures: [], passes: [] },
  'h200-kernels.json': report('2026-12-01T10:01:00.000Z', [
    row('kernels', 'aspp-r1', 'ours', { medianMs: 1, gflops: 5000, tflops: 5, fractionOfPeak: 5 / 67 }),
    row('kernels', 'aspp-r1', 'tfjs', { medianMs: 0.6, gflops: 8000, tflops: 8, fractionOfPeak: 8 / 67 }),
    // TF.js' 0 ms gives an infinite rate, which JSON writes as null.
    row('kernels', 'dw960', 'ours', { medianMs: 0.2, gflops: 400, tflops: 0.4 }),
    row('kernels', 'dw960', 'tfjs', { medianMs: 0, gflops: null, tflops: null }),
    // Memory-bound rows (GB/s, no GFLOP/s) are not layers of the summary.
    row('kernels', 'add-relu', 'ours', { medianMs: 0.1, gbps: 3000 }),
  ], { peakTflopsF32: 67 }),
  'h200-networks.json': report('2026-12-01T10:03:00.000Z', [
    row('model', 'mobilenetv2-513', 'ours', { medianMs: 901 }),
    row('model', 'mobilenetv2-513', 'tfjs', { medianMs: 40 }),
    row('model', 'resnet50-os16', 'tfjs', { medianMs: 90 }),
    row('precision', 'mobilenetv2-513', 'ours', { precision: 'f32', medianMs: 11, agreementWithF32: null }),
    row('precision', 'mobilenetv2-513', 'ours', { precision: 'f16', medianMs: 12, agreementWithF32: 0.995 }),
    row('precision', 'resnet50-os16', 'ours', { precision: 'f32', medianMs: 21, agreementWithF32: null }),
    row('precision', 'resnet50-os16', 'ours', { precision: 'f16', medianMs: 22, agreementWithF32: null }),
    row('profile', 'mobilenetv2-513', 'ours', { medianMs: 9, passMs: 5, segmentMs: 10 }),
    row('profile', 'resnet50-os16', 'ours', { medianMs: 19, passMs: 15, segmentMs: 20 }),
  ]),
  'h200-train.json': report('2026-12-01T10:08:00.000Z', [
    row('train', 'mobilenetv2-257', 'ours', { medianMs: 55 }),
    row('train', 'mobilenetv2-257', 'tfjs', { medianMs: 902 }),
    row('train', 'mobilenetv2-257', 'pytorch', { medianMs: null, error: 'no PyTorch model of mobilenetv2-257' }),
    row('train', 'resnet50', 'ours', { medianMs: 220 }),
    // The CPU engines' pair, written before PyTorch's GPU row: not PyTorch's time on the GPU.
    row('train', 'resnet50', 'ours-cpu', { medianMs: 3932 }),
    row('train', 'resnet50', 'pytorch', { medianMs: 1348, device: 'cpu', pairedWith: 'ours-cpu' }),
    row('train', 'resnet50', 'pytorch', { medianMs: 80, device: 'NVIDIA H200' }),
  ]),
  'h200-torch.json': {
    adapter: 'NVIDIA H200',
    results: [
      { model: 'resnet50-os16-513', batch: 8, engine: 'pytorch 2.11 cuda', precision: 'f32', medianMs: 903 },
      { model: 'resnet50-os8-513', batch: 1, engine: 'pytorch 2.11 cuda', precision: 'f32', medianMs: 904 },
      { model: 'resnet50-os16-513', batch: 1, engine: 'pytorch 2.11 cuda', precision: 'f32', medianMs: 7 },
      { model: 'resnet50-os16-513', batch: 1, engine: 'pytorch 2.11 cuda fp16 autocast', precision: 'f16', medianMs: 4 },
    ],
  },
  'h200-ort.json': report('2026-12-01T10:10:00.000Z', [
    row('ort-node', 'mobilenetv2-513', 'ours', { medianMs: 905 }),
    row('ort-node', 'mobilenetv2-513', 'ort-node', { medianMs: 33, ortProvider: 'webgpu' }),
    row('ort-node', 'resnet50-os16', 'ort-node', { medianMs: null, ortProvider: null, error: 'onnxruntime-node ran it on none of webgpu, cuda' }),
  ]),
};

const NO_PROFILE = { f16Agreement: 'random weights: no VOC-sample classes to agree on' };

describe('bench: the GPU run\'s summary', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-summary-'));
    for (const [name, json] of Object.entries(STEPS)) writeFileSync(join(dir, name), JSON.stringify(json));
    // Neither another GPU's file nor an earlier summary is a step file.
    writeFileSync(join(dir, 'h100-kernels.json'), JSON.stringify(report('2026-11-22T00:00:00.000Z', [row('kernels', 'stem', 'ours', { medianMs: 1, tflops: 906 })])));
    writeFileSync(join(dir, 'h200-summary.json'), JSON.stringify({ gpu: 'stale' }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes each figure from its step file and row', () => {
    const files = readStepFiles({ dir, gpu: 'h200' });
    expect(files.map((f) => f.file.slice(dir.length + 1))).to.deep.equal(['h200-kernels.json', 'h200-networks.json', 'h200-ort.json', 'h200-tests.json', 'h200-torch.json', 'h200-train.json']);
    const { summary, conflicts } = buildSummary(files, { commit: 'abc1234' });
    expect(conflicts).to.deep.equal([]);
    expect(summary).to.deep.equal({
      gpu: 'NVIDIA H200', // torch_peer.py's CUDA device name, no --gpu-name given
      driver: '580.65.06', // from the adapter Dawn names
      date: '2026-12-01T10:01:00.000Z', // the earliest step's
      commit: 'abc1234',
      peakTflopsF32: 67, // the kernels step's --peak-tflops
      layers: [
        { layer: 'aspp-r1', oursTflops: 5, tfjsTflops: 8 },
        { layer: 'dw960', oursTflops: 0.4, tfjsTflops: null, missing: { tfjsTflops: 'its time was 0 ms: too short to time' } },
      ],
      networks: {
        'mobilenetv2-513': {
          f32Ms: 11, f16Ms: 12, tfjsMs: 40, ortMs: 33, ortProvider: 'webgpu', torchF32Ms: null, torchF16Ms: null, gpuPassMs: 5, forwardToHostMs: 9, segmentMs: 10, f16Agreement: 0.995,
          missing: { torchF32Ms: "torchvision has no DeepLabv3 on TF DeepLab's MobileNetV2", torchF16Ms: "torchvision has no DeepLabv3 on TF DeepLab's MobileNetV2" },
        },
        'resnet50-os16': {
          f32Ms: 21, f16Ms: 22, tfjsMs: 90, ortMs: null, ortProvider: null, torchF32Ms: 7, torchF16Ms: 4, gpuPassMs: 15, forwardToHostMs: 19, segmentMs: 20, f16Agreement: null,
          missing: { ortMs: 'onnxruntime-node ran it on none of webgpu, cuda', ortProvider: 'onnxruntime-node ran it on none of webgpu, cuda', ...NO_PROFILE },
        },
      },
      train: {
        mobilenetv2: { oursMs: 55, torchMs: null, missing: { torchMs: 'no PyTorch model of mobilenetv2-257' } },
        resnet50: { oursMs: 220, torchMs: 80 },
      },
      tests: { passing: 812, failing: 2 },
    });
    expect(Object.keys(summary), 'the fields in order').to.deep.equal(['gpu', 'driver', 'date', 'commit', 'peakTflopsF32', 'layers', 'networks', 'train', 'tests']);
  });

  it('where the step files lack a figure: null, and why; the options name the machine', () => {
    const only = readStepFiles({ dir, gpu: 'h200' }).filter((f) => f.file.endsWith('kernels.json'));
    const { summary } = buildSummary(only, { gpuName: 'NVIDIA H200 (given)', driver: '999.1.2', peakTflops: 66 });
    expect(summary).to.deep.include({ gpu: 'NVIDIA H200 (given)', driver: '999.1.2', commit: null, peakTflopsF32: 66, missing: { commit: 'no --commit given (the reports do not record one)' } });
    expect(summary.networks['resnet50-os16']).to.deep.include({ f32Ms: null, torchF16Ms: null, gpuPassMs: null });
    expect(summary.networks['resnet50-os16'].missing).to.deep.include({
      f32Ms: 'no f32 row for resnet50-os16 in part precision',
      torchF16Ms: 'no torch_peer.py f16 autocast row for resnet50-os16-513 at batch 1',
      gpuPassMs: 'no part profile row for resnet50-os16',
      f16Agreement: 'no f16 row for resnet50-os16 in part precision',
    });
    expect(summary.train.resnet50).to.deep.equal({ oursMs: null, torchMs: null, missing: { oursMs: 'no part train row for resnet50', torchMs: 'no PyTorch row for resnet50 in part train' } });
    expect(summary.tests).to.deep.equal({ passing: null, failing: null, missing: { passing: 'no mocha JSON report among the step files', failing: 'no mocha JSON report among the step files' } });
    const none = buildSummary([], {}).summary;
    expect(none.missing).to.deep.include({ layers: 'no part kernels in the step files', gpu: 'no --gpu-name, and no torch_peer.py report naming the CUDA device' });
  });

  it('where two files hold one figure, keeps the first and says so', () => {
    const files = readStepFiles({ dir, gpu: 'h200' });
    const later: StepFile = { file: join(dir, 'h200-kernels-again.json'), json: report('2026-12-02T00:00:00.000Z', [row('kernels', 'aspp-r1', 'ours', { medianMs: 2, tflops: 907 })]) };
    const { summary, conflicts } = buildSummary([...files, later]);
    expect(summary.layers[0].oursTflops).to.equal(5);
    expect(conflicts).to.deep.equal(['oursTflops of aspp-r1: h200-kernels.json, h200-kernels-again.json (the first kept)']);
  });

  it('the command writes <gpu>-summary.json beside the step files; no step files, or a file that is not JSON, is an error naming it', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'summary.js'), '--dir', dir, '--gpu', 'h200', '--commit', 'def5678'], { encoding: 'utf8' });
    expect(run.status, run.stderr).to.equal(0);
    const written = JSON.parse(readFileSync(join(dir, 'h200-summary.json'), 'utf8'));
    expect(written).to.deep.include({ gpu: 'NVIDIA H200', commit: 'def5678' });
    expect(written.networks['resnet50-os16'].torchF32Ms).to.equal(7);
    expectThrows(() => readStepFiles({ dir, gpu: 'a100' }), /bench:summary: no step files a100-\*\.json in /);
    writeFileSync(join(dir, 'broken.json'), '{"results": [');
    expectThrows(() => readStepFiles({ dir, gpu: 'x', files: [join(dir, 'broken.json')] }), /broken\.json is not readable JSON/);
  });
});
