import { describe, expect, it } from 'vitest';
import { selectEncoding } from './accept-encoding';

const BOTH = ['br', 'gzip'] as const;

describe('selectEncoding(field, offered)', () => {
  it.each([
    // field, offered, expected
    [null, BOTH, 'identity'],
    ['', BOTH, 'identity'],
    ['gzip', BOTH, 'gzip'],
    ['br', BOTH, 'br'],
    ['gzip, br', BOTH, 'br'],
    ['gzip, deflate, br, zstd', BOTH, 'br'],
    ['br, gzip', ['gzip', 'br'], 'gzip'],
    ['gzip;q=1, br;q=0.9', BOTH, 'gzip'],
    ['br;q=0.5, gzip;q=0.4', BOTH, 'br'],
    ['BR;Q=0.5, GZip;q=0.6', BOTH, 'gzip'],
    ['x-gzip', BOTH, 'gzip'],
    ['*', BOTH, 'br'],
    ['br;q=0, *', BOTH, 'gzip'],
    ['*;q=0.5, gzip', BOTH, 'gzip'],
    ['br;q=0, gzip;q=0', BOTH, 'identity'],
    ['deflate', BOTH, 'identity'],
    ['identity', BOTH, 'identity'],
    ['identity, gzip', BOTH, 'gzip'],
    ['identity;q=1, gzip;q=0.5', BOTH, 'identity'],
    ['identity;q=0.2, gzip;q=0.5', BOTH, 'gzip'],
    ['identity;q=0', BOTH, undefined],
    ['identity;q=0, gzip', BOTH, 'gzip'],
    ['*;q=0', BOTH, undefined],
    ['*;q=0, identity', BOTH, 'identity'],
    ['*;q=0, br;q=0.1', BOTH, 'br'],
    ['gzip;q=0.000', BOTH, 'identity'],
    ['gzip;q=0.001', BOTH, 'gzip'],
    ['  gzip ;  q=0.7 ,br ;q=0.6', BOTH, 'gzip'],
    ['gzip', [], 'identity'],
    ['*', [], 'identity'],
  ] as const)('%j of %j gives %s', (field, offered, expected) => {
    expect(selectEncoding(field, offered)).toBe(expected);
  });

  it.each([
    ['gzip;q=2', 'a q above 1'],
    ['gzip;q=1.5', 'a q above 1'],
    ['gzip;q=-1', 'a negative q'],
    ['gzip;q=0.5555', 'more than three decimals'],
    ['gzip;q=', 'an empty q'],
    ['gzip;q', 'a parameter without a value'],
    ['gz ip', 'a space inside the token'],
    ['gzip\u0000', 'a control character'],
  ])('skips an entry with %s (%s)', (field) => {
    expect(selectEncoding(field, BOTH)).toBe('identity');
  });

  it('takes the first entry when a coding is listed twice', () => {
    expect(selectEncoding('gzip;q=0, gzip', BOTH)).toBe('identity');
    expect(selectEncoding('gzip, gzip;q=0', BOTH)).toBe('gzip');
  });

  it('reads a bounded length of a huge field', () => {
    const field = `${'a, '.repeat(100_000)}br`;
    const started = performance.now();
    expect(selectEncoding(field, BOTH)).toBe('identity');
    expect(performance.now() - started).toBeLessThan(500);
  });
});
