import { describe, expect, it } from 'vitest';
import { formatBytes, formatTime, hrefFor } from './format';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [100_000, '97.7 KiB'],
    [2 * 1024 * 1024, '2 MiB'],
    [3 * 1024 * 1024 + 1, '3 MiB'],
    [5 * 1024 ** 4, '5 TiB'],
  ])('formats %d as %j', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('formatTime', () => {
  it('writes UTC to the minute', () => {
    expect(formatTime(new Date('2026-11-22T14:03:59.999Z'))).toBe('2026-11-22 14:03 UTC');
  });
});

describe('hrefFor', () => {
  it('encodes each segment and keeps the separators', () => {
    expect(hrefFor('/api/path/', 'docs/résumé été.txt')).toBe('/api/path/docs/r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.txt');
    expect(hrefFor('/api/storage/', 'a?b#c.txt')).toBe('/api/storage/a%3Fb%23c.txt');
  });
});
