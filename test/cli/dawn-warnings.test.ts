import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DawnWarningFilter } from '../../src/cli/dawn-warnings.js';
import { testContext } from '../helpers.js';
import { runCli } from './run-cli.js';
import { sharedPath } from '../shared.js';

const W1 = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';
const W2 = 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';

/** Everything the filter lets through when `text` arrives in pieces of `size` characters. */
function filtered(text: string, size: number): { out: string; beforeEnd: string } {
  const f = new DawnWarningFilter();
  let out = '';
  for (let i = 0; i < text.length; i += size) out += f.push(text.slice(i, i + size));
  const beforeEnd = out;
  return { out: out + f.flush(), beforeEnd };
}

describe("CLI: Dawn's start-up warnings", () => {
  it('the filter drops exactly those two lines, however the text is split', () => {
    const ours = 'deeplab: something went wrong\n';
    const progress = 'eval  3/9  [######------]  33%\r';
    const lookalike = 'Warning: maxDynamicUniformBuffersPerPipelineLayout is something else\n';
    const text = W1 + W2 + ours + progress + lookalike + 'Warning: the image is small\n';
    for (const size of [1, 7, 64, text.length]) {
      expect(filtered(text, size).out, `pieces of ${size}`).to.equal(ours + progress + lookalike + 'Warning: the image is small\n');
    }
  });

  it('passes a progress redraw on at once, and holds only a line that may still become a warning', () => {
    const f = new DawnWarningFilter();
    expect(f.push('train  1/600\r')).to.equal('train  1/600\r');
    expect(f.push('Warning: maxDyn')).to.equal('');
    expect(f.push('amicStorage...')).to.equal('');
    expect(f.flush()).to.equal('Warning: maxDynamicStorage...');
    expect(filtered('Warn', 2).beforeEnd).to.equal('');
    expect(filtered('Wait\n', 2).beforeEnd).to.equal('Wait\n');
  });

  it('a GPU command shows them only with DEEPLAB_DEBUG=1 (where the adapter causes them)', async function () {
    this.timeout(120_000);
    const tmp = mkdtempSync(join(tmpdir(), 'deeplab-warn-'));
    try {
      const args = ['segment', sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg'), '--out', tmp];
      const quiet = await runCli(args);
      expect(quiet.code, quiet.stderr).to.equal(0);
      expect(quiet.stderr).to.not.contain('artificially reduced');
      expect(quiet.stdout).to.contain('2007_000033.png');
      // Into a folder of its own: a rerun keeps the finished mask and says so instead.
      rmSync(tmp, { recursive: true, force: true });
      const debug = await runCli(args, { DEEPLAB_DEBUG: '1' });
      expect(debug.code, debug.stderr).to.equal(0);
      expect(debug.stdout).to.equal(quiet.stdout);
    // lavapipe reports dynamic-buffer limits that Dawn clamps; other adapters may not.
      if ((await testContext()).adapterInfo.name.includes('llvmpipe')) expect(debug.stderr).to.contain('artificially reduced');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
