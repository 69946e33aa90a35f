// `npm run setup` beyond Debian: with apt-get hidden from PATH (scripts/without-apt.sh), the
// set-up after the build (scripts/setup-runtime.sh) succeeds where a WebGPU adapter works, says
// how to point DEEPLAB_CHROMIUM or DEEPLAB_FIREFOX at a browser where it cannot install one, and fails naming what
// to install where no adapter can be created. (CI runs the whole `npm run setup` this way too.)
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Result {
  code: number;
  output: string;
}

/** `bash scripts/without-apt.sh command...` with `env` added to this process's environment. */
function withoutApt(command: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((done, fail) => {
    execFile('bash', ['scripts/without-apt.sh', ...command], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return fail(error);
      done({ code: error ? (error.code as number) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

describe('set-up without apt-get (macOS, Fedora, ...)', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-setup-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('hides apt-get and dpkg from the command; other commands stay', async () => {
    const r = await withoutApt(['bash', '-c', 'command -v apt-get || command -v dpkg-query || echo hidden; command -v node >/dev/null && echo node'], {});
    expect(r.code).to.equal(0);
    expect(r.output.trim().split('\n')).to.deep.equal(['hidden', 'node']);
  });

  it('with a working adapter it succeeds, using the browsers DEEPLAB_CHROMIUM and DEEPLAB_FIREFOX name', async () => {
    const chrome = join(dir, 'chrome');
    writeFileSync(chrome, '#!/bin/sh\necho "Chromium 999.0 (a stand-in)"\n');
    chmodSync(chrome, 0o755);
    const firefox = join(dir, 'firefox');
    writeFileSync(firefox, '#!/bin/sh\necho "Mozilla Firefox 999.0esr (a stand-in)"\n');
    chmodSync(firefox, 0o755);
    const r = await withoutApt(['bash', 'scripts/setup-runtime.sh'], { DEEPLAB_CHROMIUM: chrome, DEEPLAB_FIREFOX: firefox });
    expect(r.code, r.output).to.equal(0);
    expect(r.output).to.match(/^WebGPU adapter: /m);
    expect(r.output).to.include(`setup-browser: Chromium 999.0 (a stand-in) at ${chrome}`);
    expect(r.output).to.include(`setup-browser: Mozilla Firefox 999.0esr (a stand-in) at ${firefox}`);
  });

  it('with a working adapter and no browsers it succeeds, saying how to point DEEPLAB_CHROMIUM and DEEPLAB_FIREFOX at them', async () => {
    const noChrome = join(dir, 'no-such-chrome');
    const noFirefox = join(dir, 'no-such-firefox');
    const r = await withoutApt(['bash', 'scripts/setup-runtime.sh'], { DEEPLAB_CHROMIUM: noChrome, DEEPLAB_FIREFOX: noFirefox });
    expect(r.code, r.output).to.equal(0);
    expect(r.output).to.match(/^WebGPU adapter: /m);
    expect(r.output).to.include(`setup-browser: DEEPLAB_CHROMIUM names ${noChrome}, which is not an executable: the browser tests (test/browser) need it to name a Chromium or Chrome`);
    expect(r.output).to.include(`setup-browser: DEEPLAB_FIREFOX names ${noFirefox}, which is not an executable: the browser tests (test/browser) need it to name a Firefox`);
  });

  it('with no adapter it fails, saying what to install by hand', async () => {
    // The Vulkan loader finds no driver: no adapter, as on a machine without one.
    const r = await withoutApt(['bash', 'scripts/setup-runtime.sh'], { VK_ICD_FILENAMES: join(dir, 'no-driver.json') });
    expect(r.code, r.output).to.equal(1);
    expect(r.output).to.match(/^No WebGPU adapter: /m);
    expect(r.output).to.match(/^setup-system: no apt-get here to install a Vulkan driver: install one Dawn accepts .* then run npm run setup again$/m);
  });
});
