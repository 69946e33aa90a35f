// The package as a developer installs it: `npm pack`, the tarball installed into a throwaway Node
// app (nodenext, node16) and a Vite app (vanilla-ts's settings; bundler resolution with and
// without the browser condition) in a temporary folder. The README's Node and page examples,
// taken from README.md as written, type-check with TypeScript 5.9 and the current release
// (skipLibCheck off); the Vite app builds, and the built page segments a VOC
// image in headless Chromium, in the page and in the package's worker, with no file copied by
// hand. A page-only install (no Node packages) stays under 30 MB. npm reads the registry through
// its cache (`--prefer-offline`); every version is pinned.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS, requireChromium } from '../browser/chromium.js';
import { sharedPath } from '../shared.js';
import { waitUntil } from '../wait-until.js';

const run = promisify(execFile);
const ROOT = resolve('.');
/**
 * The TypeScript releases the types are checked with: the last 5.x and the current one, with the
 * options their tsc takes. The native 7.x checks on one thread: the same diagnostics as with its
 * default pool of checkers, for two thirds of the CPU time (the node app's projects, measured).
 */
const TYPESCRIPTS = { ts5: { version: '5.9.3', args: [] }, tsCurrent: { version: '7.0.2', args: ['--singleThreaded'] } };
const VITE = '8.3.8';
const TYPES_NODE = '22.19.1';
const IMAGE = '2007_000033.jpg';
const PAGE_ONLY_LIMIT_MB = 30;

/** npm's settings a child npm may take from this process's environment: where it finds packages. */
const NPM_SETTINGS = new Set(['cache', 'cafile', 'userconfig', 'globalconfig', 'registry', 'proxy', 'https_proxy', 'noproxy', 'strict_ssl']);

/**
 * This process's environment without what `npm test` adds for its scripts (npm_config_local_prefix
 * would point a child npm at this project's own node_modules).
 */
function childEnv(): NodeJS.ProcessEnv {
  // A copy for the child (flags.test.ts: only src/util/flags.ts reads the environment itself).
  const env = Object.fromEntries(Object.entries({ ...process.env }).filter(([k]) => !k.startsWith('npm_') || (k.startsWith('npm_config_') && NPM_SETTINGS.has(k.slice('npm_config_'.length)))));
  delete env.INIT_CWD;
  return { ...env, npm_config_update_notifier: 'false' };
}

/** Runs a command in `cwd`, giving its stdout; its output is part of the error when it fails. */
async function sh(cwd: string, file: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, maxBuffer: 64 * 2 ** 20, env: childEnv() });
    return stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

function npmInstall(cwd: string, args: string[] = []): Promise<string> {
  return sh(cwd, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...args]);
}

/** The code block of README.md that follows `heading`. */
function readmeExample(heading: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n## ${heading}\n`);
  expect(at, `README.md has a "## ${heading}" section`).to.be.greaterThan(0);
  const block = /```(?:ts|js)\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error(`README.md: no code block under "## ${heading}"`);
  return block[1];
}

function bytesUnder(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += bytesUnder(path);
    else if (e.isFile()) total += statSync(path).size;
  }
  return total;
}

/**
 * Type-checks the projects `configs` (tsconfig files in `dir`) with each TypeScript release
 * (installed in `typescripts` as `ts5`, `tsCurrent`; tsc takes its own libraries from there and the
 * project's packages from the project's folder): one `tsc --build` a release for all of them,
 * which parses the declaration files the projects share (the package's, @types/node, TypeScript's
 * libraries) once where a `tsc -p` a project parses them all again; each project is still checked
 * with its own options. `--force`: no project is skipped as up to date (from the other release's build info);
 * `--verbose` names each project before its errors.
 */
async function typeCheck(typescripts: string, dir: string, configs: string[]): Promise<void> {
  for (const [name, { args }] of Object.entries(TYPESCRIPTS)) {
    await sh(dir, process.execPath, [join(typescripts, 'node_modules', name, 'bin', 'tsc'), '--build', '--force', '--verbose', ...args, ...configs]);
  }
}

/** Writes the tsconfig file `file` in `dir` and gives its name. */
function writeConfig(dir: string, file: string, compilerOptions: object, include: string[]): string {
  writeFileSync(join(dir, file), JSON.stringify({ compilerOptions, include }));
  return file;
}

const TYPESCRIPT_DEPS = Object.fromEntries(Object.entries(TYPESCRIPTS).map(([name, { version }]) => [name, `npm:typescript@${version}`]));

/** A static server for the built app, with the weights and the photo from the shared folder. */
function serve(dist: string): Promise<{ server: Server; url: string }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.jpg': 'image/jpeg' };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = join(dist, path);
    if (path.startsWith('/weights/')) file = sharedPath('weights', path.slice('/weights/'.length));
    else if (path === `/${IMAGE}`) file = sharedPath('data', 'voc-sample', 'JPEGImages', IMAGE);
    // Like Vite's servers, an unknown path gets the app's page.
    if (!file.startsWith(dist) && !path.startsWith('/weights/') && path !== `/${IMAGE}`) file = join(dist, 'index.html');
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(dist, 'index.html');
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('package: installed from its tarball into Node and Vite apps @slow', function () {
  this.timeout(600_000);
  let tmp: string;
  let tarball: string;
  let typescriptsInstalled: Promise<string> | undefined;

  /** The folder of the TypeScript releases, installed once for both apps' checks. */
  function typescripts(): Promise<string> {
    typescriptsInstalled ??= (async () => {
      const dir = join(tmp, 'typescripts');
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'typescripts', private: true, devDependencies: TYPESCRIPT_DEPS }));
      await npmInstall(dir, ['--ignore-scripts']);
      return dir;
    })();
    return typescriptsInstalled;
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'deeplab-consumer-'));
    const packed = await sh(ROOT, 'npm', ['pack', '--pack-destination', tmp]);
    tarball = join(tmp, packed.trim().split('\n').pop()!.trim());
    expect(existsSync(tarball), `npm pack wrote ${tarball}`).to.equal(true);
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the tarball holds the LICENSE, the type entries and both bundles', async () => {
    const listing = await sh(tmp, 'tar', ['-tzf', tarball]);
    for (const file of ['LICENSE', 'types/node.d.ts', 'types/node-ts5.d.ts', 'types/browser.d.ts', 'dist/browser/deeplab.js', 'dist/browser/deeplab-worker.js', 'dist/src/index.d.ts']) {
      expect(listing, file).to.contain(`package/${file}\n`);
    }
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).to.contain('Apache License\n                           Version 2.0, January 2004');
  });

  it(`a page-only install is under ${PAGE_ONLY_LIMIT_MB} MB, without Node's native packages`, async () => {
    const dir = join(tmp, 'page-only');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'page-only', private: true }));
    await npmInstall(dir, ['--ignore-scripts', tarball]);
    const modules = join(dir, 'node_modules');
    for (const native of ['webgpu', 'sharp']) expect(existsSync(join(modules, native)), `${native} installed`).to.equal(false);
    const mb = bytesUnder(modules) / 2 ** 20;
    console.log(`      page-only install: ${mb.toFixed(1)} MB of node_modules`);
    expect(mb).to.be.below(PAGE_ONLY_LIMIT_MB);
  });

  it("the README's Node example type-checks in a nodenext app; without webgpu the library names the package to install @extended", async () => {
    const dir = join(tmp, 'node-app');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'node-app', private: true, type: 'module', devDependencies: { '@types/node': TYPES_NODE } }),
    );
    // One npm run installs the app's packages and the tarball.
    await npmInstall(dir, ['--ignore-scripts', tarball]);
    writeFileSync(join(dir, 'index.ts'), readmeExample('Library'));
    // A Node program without the DOM library, strict, checking the package's declarations too;
    // the default libraries (DOM among them), as tsc --init leaves them; and node16.
    const compilerOptions = { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022'], types: ['node'], strict: true, skipLibCheck: false, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, verbatimModuleSyntax: true, noEmit: true };
    await typeCheck(await typescripts(), dir, [
      writeConfig(dir, 'tsconfig.json', compilerOptions, ['index.ts']),
      writeConfig(dir, 'tsconfig.default-lib.json', { ...compilerOptions, lib: undefined }, ['index.ts']),
      writeConfig(dir, 'tsconfig.node16.json', { ...compilerOptions, module: 'node16', moduleResolution: 'node16' }, ['index.ts']),
    ]);

    writeFileSync(
      join(dir, 'check.mjs'),
      `import { loadModel, classesFound, overlayPng } from 'deeplab-webgpu';
if (typeof classesFound !== 'function' || typeof overlayPng !== 'function') throw new Error('helpers missing from the Node entry');
try { await loadModel(${JSON.stringify(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'))}); console.log('loaded'); }
catch (e) { console.log(e.message); }`,
    );
    const out = await sh(dir, process.execPath, ['check.mjs']);
    expect(out).to.contain("the GPU in Node needs the package 'webgpu', which is not installed (npm install webgpu)");
  });

  it("the README's page example type-checks and builds in a Vite app, and segments in the page and in the worker @extended", async () => {
    requireChromium('the consumer test');
    const dir = join(tmp, 'vite-app');
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'vite-app', private: true, type: 'module', devDependencies: { vite: VITE } }),
    );
    // One npm run installs Vite and the tarball (no package of Vite's has an install script).
    await npmInstall(dir, ['--ignore-scripts', tarball]);
    // Vite's vanilla-ts template's compiler options, skipLibCheck off.
    const compilerOptions = {
      target: 'ES2022', useDefineForClassFields: true, module: 'ESNext', lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: ['vite/client'], skipLibCheck: false,
      moduleResolution: 'bundler', allowImportingTsExtensions: true, verbatimModuleSyntax: true, moduleDetection: 'force', noEmit: true,
      strict: true, noUnusedLocals: true, noUnusedParameters: true, noFallthroughCasesInSwitch: true, noUncheckedSideEffectImports: true,
    };
    writeFileSync(join(dir, 'index.html'), `<!doctype html><html><body><img src="/${IMAGE}"><canvas></canvas><script type="module" src="/src/main.ts"></script></body></html>`);
    // The README's example as written, then what the test reads back: the classes found in the
    // page and in the worker, and the error of a worker started from a URL that serves no script.
    const main = `${readmeExample('In the page')}
const fromWorker = await worker.segment(img);
await worker.terminate();
let badStart = '';
try { await SegmentationWorker.start('/no-such-worker.js').load('/weights/deeplabv3_257_mv_gpu.tflite'); } catch (e) { badStart = (e as Error).message; }
Object.assign(window, { deeplabResult: { page: classesFound(result, model.classNames), worker: classesFound(fromWorker, model.classNames), badStart } });
`;
    writeFileSync(join(dir, 'src', 'main.ts'), main);
    // As written (tsconfig.json, which Vite's build reads too), and with the `browser` condition,
    // as a project resolving like its bundler sets it.
    await typeCheck(await typescripts(), dir, [
      writeConfig(dir, 'tsconfig.json', compilerOptions, ['src']),
      writeConfig(dir, 'tsconfig.browser.json', { ...compilerOptions, customConditions: ['browser'] }, ['src']),
    ]);
    const built = await sh(dir, process.execPath, [join(dir, 'node_modules', 'vite', 'bin', 'vite.js'), 'build']);
    const assets = readdirSync(join(dir, 'dist', 'assets'));
    expect(assets.some((f) => /deeplab-worker.*\.js$/.test(f)), `the worker bundled by Vite: ${assets.join(', ')}\n${built}`).to.equal(true);

    const { server, url } = await serve(join(dir, 'dist'));
    const profile = mkdtempSync(join(tmpdir(), 'deeplab-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${url}/`);
      type Found = { name: string; share: number }[];
      let r: { page: Found; worker: Found; badStart: string } | undefined;
      await waitUntil(async () => {
        r = (await page.evaluate(() => (window as unknown as { deeplabResult?: unknown }).deeplabResult)) as typeof r;
        return r !== undefined || errors.length > 0;
      }, 'the built page to segment (window.deeplabResult)', 500);
      expect(r, `the page finished (errors: ${errors.join('; ')})`).to.not.equal(undefined);
      const names = (found: Found) => found.filter((c) => c.share > 0.01).map((c) => c.name);
      expect(names(r!.page)).to.deep.equal(['background', 'aeroplane']);
      expect(r!.page[1].share).to.be.closeTo(0.156, 0.01);
      expect(names(r!.worker)).to.deep.equal(['background', 'aeroplane']);
      expect(r!.worker[1].share).to.be.closeTo(r!.page[1].share, 0.002);
      expect(r!.badStart).to.match(new RegExp(`failed to start from ${url}/no-such-worker\\.js: it serves HTTP 200, text/html: "<!doctype html>`));
      expect(errors).to.deep.equal([]);
    } finally {
      await browser.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
