// The container image's build steps without Docker: scripts/container-build.sh (what the
// Dockerfile runs) installs the packed package and its peers into a temporary prefix, and the
// installed `deeplab` segments a VOC image with the bytes the checkout's CLI writes, and on the CPU
// device (its onnxruntime-node) into the same labels. npm reads
// the registry through its cache (--prefer-offline).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { messages, runCli } from '../cli/run-cli.js';
import { classAgreement } from '../helpers.js';
import { sharedPath } from '../shared.js';

const run = promisify(execFile);
const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', 'voc12val_0294.png');

describe('setup: the container build steps, into a prefix @slow @extended', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-container-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the Dockerfile runs scripts/container-build.sh, which installs a deeplab that segments as the checkout does', async () => {
    expect(readFileSync('Dockerfile', 'utf8')).to.match(/^RUN bash scripts\/container-build\.sh \/opt\/deeplab/m);
    const prefix = join(dir, 'opt');
    // Without npm test's npm_* variables, which would point the child npm at this project.
    // A copy for the child (flags.test.ts: only src/util/flags.ts reads the environment itself).
    const env = Object.fromEntries(Object.entries({ ...process.env }).filter(([k]) => !k.startsWith('npm_') && k !== 'INIT_CWD'));
    const built = await run('bash', ['scripts/container-build.sh', prefix, '--built'], { env, maxBuffer: 16 << 20 });
    expect(built.stdout).to.match(/WebGPU adapter: /);
    expect(built.stdout).to.match(/CPU device: onnxruntime-node \d/);
    const installed = await run(join(prefix, 'bin', 'deeplab'), ['segment', IMAGE, '--out', join(dir, 'installed')], { env: { ...env, DEEPLAB_WEIGHTS_DIR: sharedPath('weights') } });
    expect(installed.stdout).to.contain('voc12val_0294.png ->');
    const here = await runCli(['segment', IMAGE, '--out', join(dir, 'here')]);
    expect(here.code, messages(here.stderr)).to.equal(0);
    expect(readFileSync(join(dir, 'installed', 'voc12val_0294.png')).equals(readFileSync(join(dir, 'here', 'voc12val_0294.png')))).to.equal(true);
    // On a CPU node: the installed CPU device labels as WebGPU does.
    await run(join(prefix, 'bin', 'deeplab'), ['segment', IMAGE, '--device', 'cpu', '--out', join(dir, 'cpu')], { env: { ...env, DEEPLAB_WEIGHTS_DIR: sharedPath('weights') } });
    const mask = (p: string) => readIndexedPng(readFileSync(p), p).indices;
    expect(classAgreement(mask(join(dir, 'cpu', 'voc12val_0294.png')), mask(join(dir, 'here', 'voc12val_0294.png'))), '--device cpu').to.be.at.least(0.999);
  });
});
