// Base64 of bytes and back, on any platform (Node and the page both have btoa and atob), in
// chunks so large inputs never build one argument list.
const CHUNK = 0x8000;

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += CHUNK) s += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(s);
}

/** The bytes of base64 `text`; anything else is an error naming `what`. */
export function fromBase64(text: string, what: string): Uint8Array {
  let s: string;
  try {
    s = atob(text);
  } catch {
    throw new Error(`${what}: not base64`);
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
