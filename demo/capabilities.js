// What the demo can do in this browser, decided in one place: segmenting and teaching (on WebGPU,
// or where it is missing on the CPU: the server's onnxruntime-web, `segment: 'cpu'`, in the
// worker), and, where WebGPU is missing, what the browser is and the setting or version that turns
// it on.
// `?webgpu=off` in the page's address shows the page as a browser without WebGPU sees it (the
// tests and the screenshots use it).

/** The browser and platform, from the user agent: { name, version, platform }. */
export function describeBrowser(ua = navigator.userAgent) {
  const platform = /Android/.test(ua) ? 'Android' : /iPhone|iPad|iPod/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS X|Macintosh/.test(ua) ? 'macOS' : /CrOS/.test(ua) ? 'ChromeOS' : /Linux/.test(ua) ? 'Linux' : 'an unknown platform';
  const match = (re) => re.exec(ua)?.[1];
  let name = 'an unknown browser';
  let version = match(/(?:Version|Chrome|Firefox)\/(\d+)/);
  if (match(/Edg\/(\d+)/)) [name, version] = ['Edge', match(/Edg\/(\d+)/)];
  else if (match(/(?:Firefox|FxiOS)\/(\d+)/)) [name, version] = ['Firefox', match(/(?:Firefox|FxiOS)\/(\d+)/)];
  else if (match(/(?:Chrome|CriOS)\/(\d+)/)) [name, version] = [/HeadlessChrome/.test(ua) ? 'Chromium (headless)' : 'Chrome', match(/(?:HeadlessChrome|Chrome|CriOS)\/(\d+)/)];
  else if (/Safari\//.test(ua)) [name, version] = ['Safari', match(/Version\/(\d+)/)];
  return { name, version: version ? Number(version) : null, platform };
}

/** How to turn WebGPU on in this browser (a sentence), from what it is. */
export function webgpuAdvice({ name, version, platform }) {
  const v = version ?? 0;
  if (name === 'Firefox') {
    if (platform === 'Windows' && v < 141) return 'Firefox has WebGPU on Windows from version 141: update Firefox.';
    if (platform === 'macOS' && v < 145) return 'Firefox has WebGPU on macOS (Apple silicon) from version 145: update Firefox.';
    return `Firefox does not turn WebGPU on by default on ${platform} yet: open about:config, set dom.webgpu.enabled to true, and restart Firefox (or use Chrome or Edge).`;
  }
  if (name === 'Chrome' || name === 'Edge' || name.startsWith('Chromium')) {
    if (platform === 'Linux') return `${name} on Linux has WebGPU behind a flag: open chrome://flags, enable "Unsafe WebGPU Support" (#enable-unsafe-webgpu) and Vulkan (#enable-vulkan), and relaunch.`;
    if (platform === 'Android' && v < 121) return `${name} has WebGPU on Android 12 and later from version 121: update ${name}.`;
    if (v < 113) return `${name} has WebGPU from version 113: update ${name}.`;
    return `${name} ${v} has WebGPU, but not here: the GPU or its driver may be on the browser's blocklist (see chrome://gpu), or hardware acceleration is off in the settings.`;
  }
  if (name === 'Safari') {
    if (v >= 26) return 'Safari 26 has WebGPU: check that it is not turned off under Develop > Feature Flags (macOS) or Settings > Apps > Safari > Advanced > Feature Flags (iOS).';
    return 'Safari has WebGPU from version 26 (macOS Tahoe, iOS 26): update the system, or on Safari 18 turn on WebGPU under Develop > Feature Flags (macOS) or Settings > Apps > Safari > Advanced > Feature Flags (iOS).';
  }
  return 'Use a browser with WebGPU: Chrome or Edge 113 or later, Firefox 141 or later on Windows, or Safari 26.';
}

/** The CPU device's runtime as the demo server serves it (demo/server.ts), where onnxruntime-web is installed. */
export const CPU_RUNTIME = '/ort/ort.wasm.min.mjs';

/** Whether the server serves the CPU runtime. */
async function cpuRuntimeServed() {
  try {
    return (await fetch(CPU_RUNTIME, { method: 'HEAD' })).ok;
  } catch {
    return false;
  }
}

/**
 * What the page offers here: { webgpu, segment: 'webgpu' | 'cpu' | 'none', teach, browser, why,
 * advice }. An adapter is asked for: a browser may have navigator.gpu and still give none (a
 * blocklisted GPU).
 */
export async function pageCapabilities() {
  const browser = describeBrowser();
  const forcedOff = new URLSearchParams(location.search).get('webgpu') === 'off';
  let why = null;
  if (forcedOff) why = 'WebGPU is turned off for this page (?webgpu=off in its address)';
  else if (!navigator.gpu) why = 'this browser has no WebGPU (navigator.gpu is missing)';
  else {
    try {
      if (!(await navigator.gpu.requestAdapter())) why = 'this browser has WebGPU but gave the page no GPU adapter';
    } catch (e) {
      why = `this browser's WebGPU gave no adapter (${e.message})`;
    }
  }
  const webgpu = why === null;
  const segment = webgpu ? 'webgpu' : (await cpuRuntimeServed()) ? 'cpu' : 'none';
  // Turned off by the page's address, WebGPU comes back by leaving that out, whatever the browser.
  const advice = webgpu ? null : forcedOff ? 'Open the page without ?webgpu=off in its address.' : webgpuAdvice(browser);
  return { webgpu, segment, teach: segment !== 'none', browser, why, advice };
}
