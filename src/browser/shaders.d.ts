// Made by scripts/build-browser.mjs: every WGSL file (scripts/shaders.mjs), by name.
declare module 'deeplab:shaders' {
  const shaders: Record<string, string>;
  export default shaders;
}
