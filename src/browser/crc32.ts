// The browser's stand-in for src/util/crc32.ts (the page has no zlib): the table-driven CRC-32.
export { crc32Table as crc32 } from '../util/crc32-table.js';
