// Hashes of a file, streamed in chunks so a large weights file never sits in memory whole.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Lower-case hex digest of the file at `path` (sha256, or sha384 where a registry gives that). */
export async function hashFile(path: string, algorithm: 'sha256' | 'sha384' = 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Lower-case hex SHA-256 of the file at `path`. */
export function sha256File(path: string): Promise<string> {
  return hashFile(path, 'sha256');
}
