// The browser the browser tests drive: Debian's Chromium (or DEEPLAB_CHROMIUM's), headless, WebGPU
// on its software adapter (SwiftShader), on a machine with no network.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { CHROMIUM, requireChromium } from '../../bench/browser.js';

export { CHROMIUM, requireChromium };
import { type DemoServerOptions, startDemoServer } from '../../demo/server.js';


/** WebGPU on Chromium's software adapter, headless, as root, on a machine with no network. */
export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** Chromium without WebGPU (no navigator.gpu), as where it is blocklisted or turned off. */
export const CHROMIUM_FLAGS_NO_WEBGPU = [...CHROMIUM_FLAGS.filter((f) => !/webgpu/.test(f)), '--disable-blink-features=WebGPU'];

/**
 * A path of the demo's origin for pages that only import the bundle: the samples' list, a few
 * bytes of JSON that run nothing. (The demo page loads its default model; the bundle's source
 * map, opened before, is 3.7 MB of text that Chromium took 3-4 s to lay out before the page
 * answered, and Firefox 1-2 s.)
 */
export const PLAIN_PAGE = 'samples/';

/** The demo server and a Chromium page on it, as the browser tests use them. */
export interface DemoPage {
  url: string;
  page: Page;
  /** Uncaught errors the page has thrown so far. */
  pageErrors: string[];
  /** Closes the browser and the server and removes the browser's profile folder. */
  close(): Promise<void>;
}

/**
 * Starts the demo server and headless Chromium (a fresh profile folder, so nothing is left from
 * an earlier run) and opens `path` of the demo's origin (default: the demo page).
 */
export async function openDemoPage(o: { server?: DemoServerOptions; flags?: string[]; acceptDownloads?: boolean; path?: string } = {}): Promise<DemoPage> {
  requireChromium('browser tests');
  const { server, url } = await startDemoServer(o.server);
  const profile = mkdtempSync(join(tmpdir(), 'deeplab-chromium-'));
  let browser: BrowserContext | undefined;
  const close = async () => {
    await browser?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: o.flags ?? CHROMIUM_FLAGS, acceptDownloads: o.acceptDownloads });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${url}${o.path ?? ''}`);
    return { url, page, pageErrors, close };
  } catch (e) {
    await close();
    throw e;
  }
}
