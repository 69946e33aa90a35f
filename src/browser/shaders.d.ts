// Made by scripts/build-browser.mjs: every file of shaders/, by name.
declare module 'deeplab:shaders' {
  const shaders: Record<string, string>;
  export default shaders;
}
