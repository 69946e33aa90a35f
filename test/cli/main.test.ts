// The top level of the CLI: help, version, `models`, and how wrong invocations are reported.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGISTRY } from '../../src/model/loading/registry.js';
import { sharedPath } from '../shared.js';
import { messages, runCli } from './run-cli.js';

const OPTIONS: Record<string, string[]> = {
  segment: ['--model', '--dtype', '--out', '--overlay', '--output-stride', '--scales', '--flip', '--tile', '--overlap', '--json'],
  eval: ['--voc', '--split', '--model', '--dtype', '--output-stride', '--scales', '--flip', '--tile', '--overlap', '--json', '--limit'],
  models: [],
};

describe('deeplab (top level)', function () {
  it('--help lists the commands; --version prints the package version', async () => {
    const help = await runCli(['--help']);
    expect(help.code).to.equal(0);
    for (const cmd of Object.keys(OPTIONS)) expect(help.stdout).to.match(new RegExp(`^  ${cmd} `, 'm'));
    const version = await runCli(['--version']);
    expect(version.code).to.equal(0);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(version.stdout.trim()).to.equal(pkg.version);
  });

  it('<command> --help mentions every option of the command', async () => {
    for (const [cmd, options] of Object.entries(OPTIONS)) {
      const r = await runCli([cmd, '--help']);
      expect(r.code, cmd).to.equal(0);
      expect(r.stdout).to.contain(`Usage: deeplab ${cmd}`);
      for (const o of [...options, '--help']) expect(r.stdout, `${cmd} --help`).to.contain(o);
    }
  });

  it('models lists every registry model with its local availability', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'deeplab-cache-'));
    try {
      const r = await runCli(['models'], { DEEPLAB_CACHE_DIR: cache });
      expect(r.code, messages(r.stderr)).to.equal(0);
      for (const e of REGISTRY) expect(r.stdout).to.match(new RegExp(`^${e.name}\\b.*${e.backbone}`, 'm'));
      // The 257 model is in ../shared/weights; the torchvision ones would be downloaded.
      expect(r.stdout).to.match(/^mobilenetv2-pascal-257 .*local \(DEEPLAB_WEIGHTS_DIR\)/m);
      expect(r.stdout).to.match(/^resnet50-coco .*download from download\.pytorch\.org/m);
      // The 513 model's converted .npy folder in ../shared/weights counts as a local copy of its tarball.
      expect(r.stdout).to.match(/^mobilenetv2-pascal-513 .*local \(DEEPLAB_WEIGHTS_DIR\)/m);
      // Grouped by the classes the models predict, with the published mIoU.
      const groups = [...r.stdout.matchAll(/^(PASCAL VOC|Cityscapes|ADE20K) classes( as TF DeepLab trains them)?/gm)].map((m) => m[1] + (m[2] ? ' (TF)' : ''));
      expect(groups).to.have.members(['PASCAL VOC', 'Cityscapes', 'ADE20K', 'ADE20K (TF)']);
      expect(groups).to.have.length(4);
      expect(r.stdout).to.match(/^mmseg-r50-d8-cityscapes-512x1024 +resnet50 +keep-ratio +8 +pth +Cityscapes \(19 classes\) +79\.32 +download from download\.openmmlab\.com$/m);
      const none = await runCli(['models'], { DEEPLAB_CACHE_DIR: cache, DEEPLAB_WEIGHTS_DIR: '' });
      expect(none.stdout).to.match(/^mobilenetv2-pascal-513 .*download from storage\.googleapis\.com/m);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('an unknown command or option is an error with a hint and exit code 2', async () => {
    const cmd = await runCli(['segmnt', 'x.jpg']);
    expect(cmd.code).to.equal(2);
    expect(cmd.stderr).to.match(/^deeplab: unknown command 'segmnt' \(did you mean 'segment'\?\)/m);
    expect(cmd.stderr).to.contain("Run 'deeplab --help'");

    const opt = await runCli(['eval', '--voc', 'x', '--splt', 'val']);
    expect(opt.code).to.equal(2);
    expect(opt.stderr).to.match(/unknown option '--splt' for 'eval' \(did you mean --split\?\); valid options: --voc, --split/);
    expect(opt.stderr).to.contain("Run 'deeplab eval --help'");

    const inherited = await runCli(['toString']); // not a command just because objects have it
    expect(inherited.code).to.equal(2);
    expect(inherited.stderr).to.contain("unknown command 'toString'");

    const policy = await runCli(['train', '--data', 'x', '--out', 'y', '--device-loss', 'retry']);
    expect(policy.code).to.equal(2);
    expect(policy.stderr).to.contain("--device-loss must be 'recover' or 'fail', got 'retry'");

    const global = await runCli(['--verbose']);
    expect(global.code).to.equal(2);
    expect(global.stderr).to.contain("unknown option '--verbose'");

    const none = await runCli([]);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.contain('Usage: deeplab <command>');

    const extra = await runCli(['models', 'everything']);
    expect(extra.code).to.equal(2);
    expect(extra.stderr).to.contain("unexpected argument 'everything'");
    for (const r of [cmd, opt, inherited, global, extra]) expect(r.stderr).to.not.match(/\n\s+at /);
  });

  it('a bad environment variable is an error naming it, the text and what it may be, exit 1, no stack', async () => {
    const debug = await runCli(['segment', 'x.jpg'], { DEEPLAB_DEBUG: 'loud' });
    expect(debug.code).to.equal(1);
    expect(debug.stderr).to.match(/^deeplab: environment variable DEEPLAB_DEBUG must be 1, true, on, yes \(on\) or 0, false, off, no \(off\), got 'loud'$/m);
    // An image that exists: segment checks its inputs before the GPU reads DEEPLAB_TUNE.
    const tune = await runCli(['segment', sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg')], { DEEPLAB_TUNE: 'fast' });
    expect(tune.code).to.equal(1);
    expect(tune.stderr).to.match(/^deeplab: .*environment variable DEEPLAB_TUNE must be 'off', 'cached' or 'full', got 'fast'$/m);
    for (const r of [debug, tune]) expect(r.stderr).to.not.match(/\n\s+at /);
  });
});
