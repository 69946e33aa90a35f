// The browser's shader loader: the WGSL files (scripts/shaders.mjs) are built into the bundle as strings
// (scripts/build-browser.mjs makes the module 'deeplab:shaders'); includes expand as in Node.
import SHADERS from 'deeplab:shaders';
import { expandShader } from '../gpu/shader-include.js';

const sourceCache = new Map<string, string>();

export function loadShader(name: string): string {
  let source = sourceCache.get(name);
  if (source === undefined) {
    source = expandShader(name, (file) => {
      const text = SHADERS[file];
      if (text === undefined) throw new Error(`deeplab: shader ${file} is not in the bundle`);
      return text;
    });
    sourceCache.set(name, source);
  }
  return source;
}
