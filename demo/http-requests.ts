// The demo server's reading of requests and its raw answers (demo/server.ts): a request target
// made a safe path or refused with a 400, and the answers to requests Node's HTTP parser refuses.

export const TEXT = 'text/plain; charset=utf-8';
/** The methods served; any other gets 405 with this as its Allow header. */
export const ALLOW = 'GET, HEAD';
/** A method name (RFC 9110's token) then a space: what an unknown method's request starts with. */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ /;

/** A request refused with `status` and `message` as its body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The decoded path of a request target, or a 400: the target must be a path (or an absolute
 * http URL); its percent-encoding must be valid UTF-8; once decoded it may hold no control
 * character (NUL included), no backslash and no `.` or `..` segment.
 */
export function requestPath(target: string | undefined): string {
  let raw = target ?? '';
  if (/^https?:\/\//i.test(raw)) {
    // The absolute form (`GET http://host/path`), which HTTP/1.1 servers must accept.
    try {
      const url = new URL(raw);
      raw = url.pathname + url.search;
    } catch {
      throw new HttpError(400, 'bad request: malformed URL');
    }
  }
  if (!raw.startsWith('/')) throw new HttpError(400, 'bad request: the request target must be a path');
  if (raw.includes('#')) throw new HttpError(400, 'bad request: a fragment (#) in the request target');
  const query = raw.indexOf('?');
  let path: string;
  try {
    path = decodeURIComponent(query < 0 ? raw : raw.slice(0, query));
  } catch {
    throw new HttpError(400, 'bad request: malformed percent-encoding in the path');
  }
  if (/[\u0000-\u001f\u007f]/.test(path)) throw new HttpError(400, 'bad request: a control character in the path');
  if (path.includes('\\')) throw new HttpError(400, 'bad request: a backslash in the path');
  if (path.split('/').some((s) => s === '.' || s === '..')) throw new HttpError(400, 'bad request: a . or .. segment in the path');
  return path;
}

/** The raw answer to a request the HTTP parser refused, then the socket is closed. */
export function rawAnswer(status: number, reason: string, extra: Record<string, string> = {}): string {
  const body = `${reason}\n`;
  const headers = { 'content-type': TEXT, 'content-length': String(Buffer.byteLength(body)), connection: 'close', ...extra };
  return `HTTP/1.1 ${status} ${reason}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

/** What the parser's error `err` is answered with. */
export function parserAnswer(err: NodeJS.ErrnoException & { rawPacket?: Buffer }): string {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return rawAnswer(431, 'Request Header Fields Too Large');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return rawAnswer(413, 'Content Too Large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return rawAnswer(408, 'Request Timeout');
    case 'HPE_INVALID_METHOD':
      // A method Node's parser does not know (`BREW /`, `get /`); bytes that are no request at all
      // (a TLS handshake) are a 400.
      if (METHOD_TOKEN.test(err.rawPacket?.toString('latin1') ?? '')) return rawAnswer(405, 'Method Not Allowed', { allow: ALLOW });
      return rawAnswer(400, 'Bad Request');
    default:
      return rawAnswer(400, 'Bad Request');
  }
}
