/**
 * The kit's errors, in one module below every layer, so that any layer can throw them and
 * `errorResponse` (the one place an error becomes a Response) can recognise them.
 */

/**
 * An error that is meant to reach the client with a given status, e.g.
 * `throw new HttpError(404, 'Not Found')`.
 *
 * Like the `http-errors` convention, `expose` is true for 4xx (the message
 * describes what the client did) and false for 5xx (the message describes
 * our internals and is replaced by the reason phrase).
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly expose: boolean;

  constructor(
    readonly status: number,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    // Response() would throw later, far from the cause, for a status outside
    // 200..599; and a 1xx/2xx/3xx is not an error (RFC 9110 §15).
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HttpError: status must be 4xx or 5xx, got ${status}`);
    }
    this.expose = status < 500;
  }
}

/**
 * A configuration that cannot work. Thrown when the route module loads for a mistake in the code
 * itself (a wrong option name or type, an impossible combination), and at a route's first request
 * for a value that exists only at runtime (a root read from an environment variable, a folder
 * that is missing). At a request it answers a 500 that names the route's problem without its
 * values, and its whole message is logged once.
 */
export class ConfigurationError extends Error {
  /** What only the log should say (a path, a value); the message names options and variables. */
  readonly detail?: string;

  constructor(message: string, options?: { detail?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConfigurationError';
    this.detail = options?.detail;
  }
}

/**
 * A setting that holds no value yet: given as `process.env.X!`, it is undefined while `next build`
 * loads the route and set only where the server starts. Where a check meets one at load, the
 * check moves to the first request; met there, it answers as any `ConfigurationError`.
 */
export class MissingSettingError extends ConfigurationError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** The message of a setting found undefined at runtime, naming the option and a variable. */
export function missingSetting(option: string, example: string): MissingSettingError {
  return new MissingSettingError(
    `${option} is undefined at runtime: set the environment variable it is read from (e.g. ${example}) where the server starts`,
  );
}

/**
 * The `digest` prefixes of what Next.js throws to steer a request rather than to report a fault:
 * `redirect()` / `permanentRedirect()`, `notFound()` / `forbidden()` / `unauthorized()`, a dynamic
 * API used where a page or route is being prerendered, a prerender interrupted or left hanging,
 * and a bail-out to client rendering. The set is the one `unstable_rethrow` (next/navigation)
 * rethrows, matched by digest so that this module never imports Next.
 */
const NEXT_DIGESTS = [
  'NEXT_REDIRECT',
  'NEXT_HTTP_ERROR_FALLBACK',
  'NEXT_NOT_FOUND',
  'DYNAMIC_SERVER_USAGE',
  'NEXT_PRERENDER_INTERRUPTED',
  'HANGING_PROMISE_REJECTION',
  'BAILOUT_TO_CLIENT_SIDE_RENDERING',
];

/** React's marker of a postponed (partially prerendered) render. */
const REACT_POSTPONE = Symbol.for('react.postpone');

/**
 * Whether `error` is Next's own control flow (see `NEXT_DIGESTS`), directly or as the `cause` of
 * an error that wrapped it. Such an error is never the kit's to answer: every catch of the kit
 * throws it on, so a hook that calls `redirect('/login')` gets the same 307 as a plain route.
 */
export function isNextControlFlow(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 8) return false;
  if ((error as { $$typeof?: unknown }).$$typeof === REACT_POSTPONE) return true;
  const digest = (error as { digest?: unknown }).digest;
  if (typeof digest === 'string') {
    const code = digest.split(';', 1)[0]!;
    if (NEXT_DIGESTS.includes(code)) return true;
  }
  return error instanceof Error && 'cause' in error && isNextControlFlow(error.cause, depth + 1);
}

/** Throws `error` on when it is Next's control flow (`isNextControlFlow`); returns otherwise. */
export function rethrowNextControlFlow(error: unknown): void {
  if (isNextControlFlow(error)) throw error;
}

/** The storage has no file of that name. Answers 404 when it reaches a response. */
export class NotFoundError extends HttpError {
  constructor(readonly fileName?: string) {
    super(404, 'Not Found');
    this.name = 'NotFoundError';
  }
}

/** The file at the path is no longer the one whose metadata decided the response. */
export class FileChangedError extends Error {
  constructor(path: string) {
    super(`file changed while being opened: ${path}`);
    this.name = 'FileChangedError';
  }
}
