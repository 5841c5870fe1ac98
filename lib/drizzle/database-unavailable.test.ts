import { describe, expect, it } from 'vitest';
import { HttpError } from '../errors';
import { databaseUnavailable } from './database-unavailable';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('databaseUnavailable(error)', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a reset connection', withCode('ECONNRESET')],
    ['no such host', withCode('ENOTFOUND')],
    ['Postgres shutting down (57P01)', withCode('57P01', 'terminating connection due to administrator command')],
    ['Postgres starting up (57P03)', withCode('57P03', 'the database system is starting up')],
    ['too many connections (53300)', withCode('53300')],
    ['a connection exception (08006)', withCode('08006')],
    ["node-postgres's connect timeout", new Error('Connection terminated due to connection timeout')],
    ["node-postgres's query timeout", new Error('Query read timeout')],
    ['a driver error under Drizzle', new Error('Failed query: select 1', { cause: withCode('ECONNREFUSED') })],
    ['refusals of several addresses', new Error('Failed query', { cause: new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]) })],
  ])('is a 503 with Retry-After for %s', (_, error) => {
    const answer = databaseUnavailable(error);
    expect(answer).toBeInstanceOf(HttpError);
    expect(answer?.status).toBe(503);
    expect(answer?.headers).toEqual({ 'retry-after': '5' });
    // The detail is for the log: a 5xx message never reaches the client.
    expect(answer?.expose).toBe(false);
  });

  it.each([
    ['a syntax error (42601)', withCode('42601', 'syntax error')],
    ['a unique violation (23505)', withCode('23505')],
    ['a statement timeout (57014: the database answered)', withCode('57014', 'canceling statement due to statement timeout')],
    ['a plain error', new Error('boom')],
    ['a 404', new HttpError(404, 'Not Found')],
    ['not an error', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('is undefined for %s', (_, error) => {
    expect(databaseUnavailable(error)).toBeUndefined();
  });

  it('stops on a cause chain that loops', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(databaseUnavailable(a)).toBeUndefined();
  });
});
