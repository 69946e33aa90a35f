// The cache folder by platform: XDG on Linux (and other Unix), ~/Library/Caches on macOS,
// %LOCALAPPDATA% on Windows, and DEEPLAB_CACHE_DIR over all of them.
import { expect } from 'chai';
import { cacheDirectoryFor } from '../../src/util/cache-dir.js';

describe('util: the cache folder', () => {
  it('follows each platform: XDG on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows', () => {
    const home = '/home/ada';
    expect(cacheDirectoryFor({ platform: 'linux', env: {}, home })).to.equal('/home/ada/.cache/deeplab-webgpu');
    expect(cacheDirectoryFor({ platform: 'linux', env: { XDG_CACHE_HOME: '/var/cache/ada' }, home })).to.equal('/var/cache/ada/deeplab-webgpu');
    // The XDG spec ignores a relative XDG_CACHE_HOME; so does an empty one.
    expect(cacheDirectoryFor({ platform: 'linux', env: { XDG_CACHE_HOME: 'cache' }, home })).to.equal('/home/ada/.cache/deeplab-webgpu');
    expect(cacheDirectoryFor({ platform: 'freebsd', env: { XDG_CACHE_HOME: '' }, home })).to.equal('/home/ada/.cache/deeplab-webgpu');
    expect(cacheDirectoryFor({ platform: 'darwin', env: { XDG_CACHE_HOME: '/x' }, home: '/Users/ada' })).to.equal('/Users/ada/Library/Caches/deeplab-webgpu');
    expect(cacheDirectoryFor({ platform: 'win32', env: { LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local' }, home: 'C:\\Users\\ada' })).to.equal('C:\\Users\\ada\\AppData\\Local\\deeplab-webgpu\\Cache');
    expect(cacheDirectoryFor({ platform: 'win32', env: {}, home: 'C:\\Users\\ada' })).to.equal('C:\\Users\\ada\\AppData\\Local\\deeplab-webgpu\\Cache');
  });

  it('DEEPLAB_CACHE_DIR overrides every platform', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      expect(cacheDirectoryFor({ platform, env: { DEEPLAB_CACHE_DIR: '/tmp/c', XDG_CACHE_HOME: '/x', LOCALAPPDATA: 'D:\\' }, home: '/h' })).to.equal('/tmp/c');
    }
  });
});
