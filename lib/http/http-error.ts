import { ConfigurationError, HttpError, rethrowNextControlFlow } from '../errors';

// Forwarded only while lib/engine/serve.ts (changed elsewhere right now) imports it from here; every
// other module imports it from ../errors, which eslint.config.mjs enforces. Drop it with that import.
export { HttpError };

const REASON_PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  507: 'Insufficient Storage',
};

const MAX_MESSAGE_LENGTH = 200;

/**
 * Headers an HttpError may not set: the body is ours (type and framing are
 * computed here), and a wrong Content-Length or Content-Encoding would
 * corrupt the response.
 */
const RESERVED = new Set(['content-type', 'content-length', 'content-encoding', 'transfer-encoding']);

/**
 * The one place where an error becomes a Response.
 *
 * - What Next.js throws to steer a request (`redirect()`, `notFound()`, `forbidden()`, a
 *   prerender bail-out: see `isNextControlFlow`) is thrown on, untouched, for Next to answer.
 * - HttpError: its status, a short single-line `text/plain` body, and its
 *   own headers (e.g. Allow for 405, `Content-Range: bytes *\/size` for 416).
 * - ConfigurationError (a route set up wrong, found at a request): a 500
 *   whose body names the problem (options and variables, no values), logged
 *   once per message with its detail.
 * - Anything else: logged, and answered with a bare 500 that reveals
 *   nothing (no message, no stack: they may hold paths or secrets).
 *
 * `nosniff` stops a browser from rendering the error body as HTML;
 * `no-store` (unless the error says otherwise) keeps a transient error out
 * of shared caches.
 */
export function errorResponse(error: unknown): Response {
  rethrowNextControlFlow(error);
  if (error instanceof ConfigurationError) {
    logConfigurationError(error);
    return textResponse(500, `Server misconfigured: ${singleLine(error.message)}`, new Headers());
  }
  if (!(error instanceof HttpError)) {
    console.error(error);
    return textResponse(500, REASON_PHRASES[500] ?? 'Internal Server Error', new Headers());
  }

  if (!error.expose) console.error(error);
  const headers = new Headers();
  for (const [name, value] of Object.entries(error.headers ?? {})) {
    if (RESERVED.has(name.toLowerCase())) continue;
    try {
      headers.set(name, value);
    } catch {
      // An invalid name or value must not turn a 4xx into a crash.
      console.error(`HttpError: dropped invalid header ${JSON.stringify(name)}`);
    }
  }
  const reason = REASON_PHRASES[error.status] ?? (error.expose ? 'Client Error' : 'Server Error');
  const body = error.expose ? singleLine(error.message) || reason : reason;
  return textResponse(error.status, body, headers);
}

const loggedConfigurationErrors = new Set<string>();

/** One line per distinct mistake, not one per request that meets it. */
function logConfigurationError(error: ConfigurationError): void {
  const line = error.detail ? `${error.message} (${error.detail})` : error.message;
  if (loggedConfigurationErrors.has(line)) return;
  if (loggedConfigurationErrors.size < 256) loggedConfigurationErrors.add(line);
  console.error(`next-downloadview: ${line}`);
}

function textResponse(status: number, message: string, headers: Headers): Response {
  headers.set('Content-Type', 'text/plain; charset=utf-8');
  headers.set('X-Content-Type-Options', 'nosniff');
  if (!headers.has('Cache-Control')) headers.set('Cache-Control', 'no-store');
  return new Response(`${message}\n`, { status, headers });
}

/** Messages end up in logs and terminals too: one short line, no controls. */
function singleLine(message: string): string {
  const line = message
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  // toWellFormed: the cut may split a surrogate pair.
  return line.length > MAX_MESSAGE_LENGTH
    ? `${line.slice(0, MAX_MESSAGE_LENGTH - 1).toWellFormed()}…`
    : line;
}

/**
 * Wraps a route handler of your own so that an `HttpError` thrown anywhere in it (by a kit helper
 * such as `receiveUpload`, or by your code) answers with its status, as the factories' handlers
 * do: no try/catch to write. Next's own control flow (`redirect()`, `notFound()`, ...) passes
 * through; any other error is logged and answered with a plain 500.
 *
 * @example
 * // app/imports/route.ts
 * import { HttpError, withErrorResponses } from 'next-downloadview';
 * export const POST = withErrorResponses(async (request: Request) => {
 *   if (!request.headers.get('content-type')?.startsWith('text/csv')) throw new HttpError(415, 'Expected text/csv');
 *   return Response.json(await importCsv(await request.text()), { status: 201 });   // your code
 * });
 */
export function withErrorResponses<Args extends unknown[]>(
  handler: (...args: Args) => Response | Promise<Response>,
): (...args: Args) => Promise<Response> {
  if (typeof handler !== 'function') throw new TypeError('withErrorResponses: handler must be a function');
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (error) {
      return errorResponse(error);
    }
  };
}
