import { HttpError } from '../errors';

/** Seconds a client is told to wait before it retries a request the database could not serve. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Socket errors: the database's host refused, dropped or never answered the connection. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'PROTOCOL_CONNECTION_LOST']);

/**
 * Postgres SQLSTATEs of a server that cannot serve now: class 08 (connection exception),
 * 57P01-57P03 (shutting down, crashed, not accepting connections yet), 53300 (too many connections).
 */
const SERVER_CODES = /^(?:08[0-9A-Z]{3}|57P0[1-3]|53300)$/;

/** What node-postgres says, without a code, when a connection fails or goes silent (its connect and query timeouts). */
const DRIVER_MESSAGES = /^(?:Connection terminated|timeout expired|Query read timeout)/;

/**
 * A database error that means the database could not be reached or cannot serve now (refused,
 * down, shutting down, a connect or read timeout), as a 503 with `Retry-After` (RFC 9110
 * §15.6.4, §10.2.3), which clients, load balancers and nginx's `proxy_next_upstream` act on;
 * `undefined` for any other error (a bad query stays a 500). Drivers' errors are looked for
 * along the `cause` chain, where Drizzle keeps them.
 *
 * @example
 * try {
 *   return Response.json(await db.select().from(files));
 * } catch (error) {
 *   return errorResponse(databaseUnavailable(error) ?? error);
 * }
 */
export function databaseUnavailable(error: unknown): HttpError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === 'object'; depth++) {
    if (current instanceof HttpError) return current.status === 503 ? current : undefined;
    const { code, message, errors } = current as { code?: unknown; message?: unknown; errors?: unknown };
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || SERVER_CODES.test(code))) return unavailable(code);
    if (typeof message === 'string' && DRIVER_MESSAGES.test(message)) return unavailable(message);
    // Several addresses tried (localhost as ::1 and 127.0.0.1): an AggregateError of refusals.
    if (Array.isArray(errors) && errors.length > 0) return databaseUnavailable(errors[0]);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function unavailable(detail: string): HttpError {
  return new HttpError(503, `Database unavailable: ${detail}`, { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) });
}
