// The browsers the page tests run in, behind the few page operations those tests use, so one test
// body runs in both: Chromium (WebGPU from Dawn on SwiftShader) through playwright-core, and
// Firefox (WebGPU from wgpu on the Vulkan driver, lavapipe without a GPU) through puppeteer-core
// over WebDriver BiDi. A test that needs more of a browser (Chromium's CDP, file inputs) uses
// chromium.ts's openDemoPage and playwright's whole Page.
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DemoServerOptions, startDemoServer } from '../../demo/server.js';
import { CHROMIUM_FLAGS_NO_WEBGPU, openDemoPage } from './chromium.js';
import { FIREFOX_PREFS_NO_WEBGPU, launchFirefox } from './firefox.js';
import { waitUntil } from '../wait-until.js';

export const BROWSERS = ['chromium', 'firefox'] as const;
export type BrowserName = (typeof BROWSERS)[number];

/** The browser's name for test titles. */
export const BROWSER_TITLES: Record<BrowserName, string> = { chromium: 'Chromium', firefox: 'Firefox' };

/**
 * The tag of a page flow's run in `browser` where `npm test` runs the same flow in `kept` only:
 * '' in `kept`, and the extended tier's tag (test/extended-tier.cjs) in the other. The page and
 * the library are the same code in both; the browser kept is the one that runs the flow faster
 * (Firefox's lavapipe runs WebGPU work 2-4x faster than Chromium's SwiftShader), or Chromium where
 * the flow uses no WebGPU.
 */
export function repeatTag(browser: BrowserName, kept: BrowserName): string {
  return browser === kept ? '' : ' @extended';
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The demo server and a page on it, in either browser. */
export interface TestPage {
  /** Uncaught errors the page has thrown so far. */
  pageErrors: string[];
  /** Runs `fn` in the page (its source is sent, so it may use nothing from the test's scope) and returns its value. */
  evaluate<R>(fn: () => R | Promise<R>): Promise<R>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** The first element `selector` matches: its text. */
  textContent(selector: string): Promise<string | null>;
  /** The first element `selector` matches, scrolled into view: its box in the viewport's pixels. */
  boundingBox(selector: string): Promise<Box | null>;
  mouse: {
    move(x: number, y: number, options?: { steps?: number }): Promise<void>;
    down(): Promise<void>;
    up(): Promise<void>;
  };
  /** Clicks `selector`, waits for the download it starts and saves it at `path`; gives its suggested file name. */
  download(selector: string, path: string): Promise<string>;
  /** A screenshot of the whole page, as PNG at `path`. */
  screenshot(path: string): Promise<void>;
  /** Reloads the page and waits for it to load. */
  reload(): Promise<void>;
  /** Opens `path` of the demo's origin ('/?webgpu=off') and waits for it to load. */
  goto(path: string): Promise<void>;
  /** Closes the browser and the server and removes the browser's folders. */
  close(): Promise<void>;
}

export interface TestPageOptions {
  server?: DemoServerOptions;
  /** false: the browser without WebGPU (no navigator.gpu). Default true. */
  webgpu?: boolean;
  /** The path opened on the demo's origin (default: the demo page). */
  path?: string;
}

/** Starts the demo server and `browser`, headless on a fresh profile, and opens `path` of the demo's origin. */
export function openTestPage(browser: BrowserName, o: TestPageOptions = {}): Promise<TestPage> {
  return browser === 'chromium' ? openInChromium(o) : openInFirefox(o);
}

async function openInChromium(o: TestPageOptions): Promise<TestPage> {
  const demo = await openDemoPage({ ...o, acceptDownloads: true, ...(o.webgpu === false ? { flags: CHROMIUM_FLAGS_NO_WEBGPU } : {}) });
  const { page } = demo;
  return {
    pageErrors: demo.pageErrors,
    evaluate: ((fn: (arg: unknown) => unknown, arg?: unknown) => page.evaluate(fn, arg)) as TestPage['evaluate'],
    textContent: (selector) => page.textContent(selector),
    async boundingBox(selector) {
      const element = page.locator(selector).first();
      await element.scrollIntoViewIfNeeded();
      return element.boundingBox();
    },
    mouse: page.mouse,
    async download(selector, path) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
      await download.saveAs(path);
      return download.suggestedFilename();
    },
    screenshot: async (path) => void (await page.screenshot({ path, fullPage: true })),
    reload: async () => void (await page.reload()),
    goto: async (path) => void (await page.goto(new URL(path, demo.url).href)),
    close: demo.close,
  };
}

async function openInFirefox(o: TestPageOptions): Promise<TestPage> {
  // Firefox saves downloads here: puppeteer sets that per browser context, over BiDi.
  const downloads = mkdtempSync(join(tmpdir(), 'deeplab-firefox-downloads-'));
  let browser: Awaited<ReturnType<typeof launchFirefox>> | undefined;
  let server: Server | undefined;
  const close = async () => {
    await browser?.close();
    server?.close();
    rmSync(downloads, { recursive: true, force: true });
  };
  try {
    browser = await launchFirefox('browser tests', o.webgpu === false ? FIREFOX_PREFS_NO_WEBGPU : undefined);
    const demo = await startDemoServer(o.server);
    server = demo.server;
    const context = await browser.createBrowserContext({ downloadBehavior: { policy: 'allow', downloadPath: downloads } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e instanceof Error ? e.message : String(e)));
    await page.goto(`${demo.url}${o.path ?? ''}`);
    return {
      pageErrors,
      evaluate: ((fn: (arg: unknown) => unknown, arg?: unknown) => page.evaluate(fn, arg)) as TestPage['evaluate'],
      textContent: (selector) => page.$eval(selector, (e) => e.textContent),
      async boundingBox(selector) {
        const element = await page.$(selector);
        if (!element) return null;
        try {
          await element.scrollIntoView();
          return await element.boundingBox();
        } finally {
          await element.dispose();
        }
      },
      mouse: page.mouse,
      async download(selector, path) {
        await page.click(selector);
        const name = await finishedDownload(downloads, selector);
        copyFileSync(join(downloads, name), path);
        return name;
      },
      screenshot: async (path) => void (await page.screenshot({ path, fullPage: true })),
      reload: async () => void (await page.reload()),
      goto: async (path) => void (await page.goto(new URL(path, demo.url).href)),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** How long a download may take to finish after its click. */
/**
 * The name of the file Firefox has finished saving in `folder`. Puppeteer has no download events
 * over BiDi, so the folder is watched: Firefox makes an empty `<name>` at once, writes the bytes
 * into a `.part` file beside it, and renames that over `<name>` when done.
 */
async function finishedDownload(folder: string, selector: string): Promise<string> {
  let saved: string | undefined;
  await waitUntil(() => {
    const names = readdirSync(folder);
    const done = names.filter((n) => !n.endsWith('.part') && statSync(join(folder, n)).size > 0);
    if (done.length > 1) throw new Error(`clicking ${selector} downloaded ${done.length} files: ${done.join(', ')}`);
    if (done.length === 1 && !names.some((n) => n.endsWith('.part'))) saved = done[0];
    return saved !== undefined;
  }, `the download ${selector} starts (in ${folder})`, 100);
  return saved!;
}
