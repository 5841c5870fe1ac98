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

/** Thrown at module load for a configuration that cannot work. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
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
