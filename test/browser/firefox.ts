// Firefox for the browser tests: Debian's Firefox ESR (or DEEPLAB_FIREFOX's), headless, WebGPU
// from wgpu on the machine's Vulkan driver (lavapipe without a GPU), driven by puppeteer-core
// over WebDriver BiDi (playwright-core drives only its own patched Firefox builds). Nothing is
// downloaded; puppeteer makes the profile folder and removes it when the browser closes.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';
import { readFlag } from '../../src/util/flags.js';

/** Debian's Firefox ESR unless DEEPLAB_FIREFOX names another. */
export const FIREFOX = readFlag('DEEPLAB_FIREFOX');

/**
 * WebGPU is off by default in Firefox on Linux (no navigator.gpu without dom.webgpu.enabled), and
 * with it on, requestAdapter() gives no adapter on lavapipe until the blocklist is ignored.
 * navigator.storage.persist() asks the user in a prompt a headless browser never answers: Firefox's
 * testing prefs answer it (no, as a user who dismisses it).
 */
export const FIREFOX_PREFS = {
  'dom.webgpu.enabled': true,
  'gfx.webgpu.ignore-blocklist': true,
  'dom.storageManager.prompt.testing': true,
  'dom.storageManager.prompt.testing.allow': false,
};

/** Throws an error saying how to get a Firefox unless FIREFOX is there; `what` names the caller. */
export function requireFirefox(what: string): void {
  if (!existsSync(FIREFOX)) {
    throw new Error(
      `${what}: no Firefox at ${FIREFOX}: set DEEPLAB_FIREFOX to a Firefox executable ` +
        '(e.g. DEEPLAB_FIREFOX="$(which firefox)"), or on Debian run npm run setup, which installs /usr/bin/firefox-esr',
    );
  }
}

/** Firefox as it ships on Linux: no navigator.gpu. */
export const FIREFOX_PREFS_NO_WEBGPU = { 'dom.webgpu.enabled': false };

/** Starts headless Firefox (with WebGPU on, unless `prefs` say otherwise), on a fresh profile folder of puppeteer's. */
export function launchFirefox(what: string, prefs: Record<string, boolean> = FIREFOX_PREFS): Promise<Browser> {
  requireFirefox(what);
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: prefs,
    // Puppeteer gives up on a protocol call after 180 s by default, and a call here may segment
    // or fine-tune for longer on a software adapter: the tests' own timeouts bound it instead,
    // as they do playwright's calls in Chromium.
    protocolTimeout: 0,
  });
}
