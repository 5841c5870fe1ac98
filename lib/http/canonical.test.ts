import { describe, expect, it } from 'vitest';
import { canonicalPath, canonicalQuery, canonicalSegment } from './canonical';

describe('canonicalSegment', () => {
  it.each([
    ['keeps unreserved characters', 'AZaz09-._~', 'AZaz09-._~'],
    ['encodes a raw space', 'a b', 'a%20b'],
    ['keeps an encoded space', 'a%20b', 'a%20b'],
    ['encodes raw non-ASCII as UTF-8', 'é', '%C3%A9'],
    ['upper-cases escapes', '%c3%a9', '%C3%A9'],
    ['reads a plus as a plus, not a space', 'a+b', 'a%2Bb'],
    ['keeps an encoded plus', 'a%2Bb', 'a%2Bb'],
    ['takes a % that starts no escape literally', '100%.txt', '100%25.txt'],
    ['takes a % followed by one hex digit literally', '%A', '%25A'],
    ['decodes an escaped %', '100%25.txt', '100%25.txt'],
    ['keeps an encoded slash inside the segment', 'a%2Fb', 'a%2Fb'],
    ['keeps an encoded question mark', 'why%3F', 'why%3F'],
    ['encodes sub-delimiters', "!$&'()*,;=:@", '%21%24%26%27%28%29%2A%2C%3B%3D%3A%40'],
    ['keeps bytes that are not UTF-8', '%FF%FE', '%FF%FE'],
    ['does not normalise Unicode (NFD stays NFD)', 'e\u0301', 'e%CC%81'],
    ['encodes an astral character as four bytes', '😀', '%F0%9F%98%80'],
    ['answers empty for empty', '', ''],
  ])('%s', (_label, input, expected) => {
    expect(canonicalSegment(input)).toBe(expected);
  });
});

describe('canonicalPath', () => {
  it('canonicalises each segment and keeps the slashes', () => {
    expect(canonicalPath('/a b/é.txt')).toBe('/a%20b/%C3%A9.txt');
    expect(canonicalPath('/a%20b/%c3%a9.txt')).toBe('/a%20b/%C3%A9.txt');
  });

  it('keeps an empty last segment (trailing slash)', () => {
    expect(canonicalPath('/dir/')).toBe('/dir/');
  });

  it('tells an encoded slash from a separator', () => {
    expect(canonicalPath('/a%2Fb')).not.toBe(canonicalPath('/a/b'));
  });
});

describe('canonicalQuery', () => {
  const query = (search: string) => canonicalQuery(new URLSearchParams(search), 'signature');

  it('sorts parameters by name', () => {
    expect(query('b=2&a=1&c=3')).toBe('a=1&b=2&c=3');
  });

  it('keeps the order of the values of a repeated name', () => {
    expect(query('a=2&b=0&a=1')).toBe('a=2&a=1&b=0');
    expect(query('a=2&a=1')).not.toBe(query('a=1&a=2'));
  });

  it('leaves out the excluded parameter', () => {
    expect(query('a=1&signature=xyz')).toBe('a=1');
  });

  it('reads the query as forms do: + and %20 are both a space', () => {
    expect(query('q=a+b')).toBe('q=a%20b');
    expect(query('q=a%20b')).toBe('q=a%20b');
  });

  it('reads an encoded plus as a plus', () => {
    expect(query('q=a%2Bb')).toBe('q=a%2Bb');
  });

  it('tells a name without a value from an absent one', () => {
    expect(query('download')).toBe('download=');
    expect(query('')).toBe('');
  });

  it('cannot be confused by = or & inside values', () => {
    expect(query('a=1%26b%3D2')).not.toBe(query('a=1&b=2'));
  });
});
