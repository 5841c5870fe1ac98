import { describe, it, expect } from 'vitest';
import {
  fileEntityTag,
  formatEntityTag,
  parseEntityTag,
  parseEntityTagList,
  strongCompare,
  toEntityTag,
  weakCompare,
  type EntityTag,
} from './etag';

const strong = (opaque: string): EntityTag => ({ weak: false, opaque });
const weak = (opaque: string): EntityTag => ({ weak: true, opaque });

describe('formatEntityTag', () => {
  it.each([
    ['a strong tag', strong('xyzzy'), '"xyzzy"'],
    ['a weak tag', weak('xyzzy'), 'W/"xyzzy"'],
    ['an empty strong tag', strong(''), '""'],
  ])('formats %s', (_label, tag, expected) => {
    expect(formatEntityTag(tag)).toBe(expected);
  });
});

describe('parseEntityTag', () => {
  it.each([
    ['a strong tag', '"abc"', strong('abc')],
    ['a weak tag', 'W/"abc"', weak('abc')],
    ['a tag with surrounding whitespace', '  "abc" ', strong('abc')],
    ['a tag containing a comma', '"a,b"', strong('a,b')],
  ])('parses %s', (_label, value, expected) => {
    expect(parseEntityTag(value)).toEqual(expected);
  });

  it.each([
    ['a bare token', 'abc'],
    ['a lowercase weak prefix', 'w/"abc"'],
    ['two tags', '"a", "b"'],
    ['an unterminated tag', '"abc'],
    ['a date', 'Sun, 06 Nov 1994 08:49:37 GMT'],
  ])('rejects %s', (_label, value) => {
    expect(parseEntityTag(value)).toBeUndefined();
  });
});

describe('parseEntityTagList', () => {
  describe('with the wildcard', () => {
    it.each([['*'], [' * ']])('answers "*" for %j', (value) => {
      expect(parseEntityTagList(value)).toBe('*');
    });
  });

  describe('with well-formed lists', () => {
    it.each([
      ['one strong tag', '"xyzzy"', [strong('xyzzy')]],
      ['one weak tag', 'W/"xyzzy"', [weak('xyzzy')]],
      ['the RFC 9110 §13.1.1 example', '"xyzzy", "r2d2xxxx", "c3piozzzz"', [strong('xyzzy'), strong('r2d2xxxx'), strong('c3piozzzz')]],
      ['mixed weak and strong tags', 'W/"a", "b"', [weak('a'), strong('b')]],
      ['tags without spaces after commas', '"a","b"', [strong('a'), strong('b')]],
      ['tags separated by tabs and spaces', '"a" \t,\t "b"', [strong('a'), strong('b')]],
      ['empty list elements', ', "a",, ,"b",', [strong('a'), strong('b')]],
      ['a tag containing a comma', '"a,b", "c"', [strong('a,b'), strong('c')]],
      ['an empty opaque-tag', '""', [strong('')]],
      ['obs-text bytes exposed as Latin-1', '"caf\u00e9"', [strong('caf\u00e9')]],
      ['an empty field', '', []],
    ])('parses %s', (_label, value, expected) => {
      expect(parseEntityTagList(value)).toEqual(expected);
    });
  });

  describe('with malformed members', () => {
    it.each([
      ['a bare token before a good tag', 'abc, "good"', [strong('good')]],
      ['a lowercase weak prefix', 'w/"a", "b"', [strong('b')]],
      ['a tag with a space inside', '"a b", "c"', [strong('c')]],
      ['garbage glued after a tag', '"a"x, "b"', [strong('b')]],
      ['garbage glued after a tag containing a comma', '"a,b"x, "c"', [strong('c')]],
      ['an unterminated last tag', '"a", "b', [strong('a')]],
      ['a wildcard inside a list', '*, "a"', [strong('a')]],
      ['only garbage', 'nonsense', []],
    ])('skips %s and keeps the rest', (_label, value, expected) => {
      expect(parseEntityTagList(value)).toEqual(expected);
    });
  });
});

describe('strongCompare and weakCompare', () => {
  // The table of RFC 9110 §8.8.3.2.
  it.each([
    [weak('1'), weak('1'), false, true],
    [weak('1'), weak('2'), false, false],
    [weak('1'), strong('1'), false, true],
    [strong('1'), strong('1'), true, true],
    [strong('1'), strong('2'), false, false],
  ])('compares %j with %j: strong %s, weak %s', (a, b, strongResult, weakResult) => {
    expect(strongCompare(a, b)).toBe(strongResult);
    expect(strongCompare(b, a)).toBe(strongResult);
    expect(weakCompare(a, b)).toBe(weakResult);
    expect(weakCompare(b, a)).toBe(weakResult);
  });
});

describe('toEntityTag', () => {
  describe('with a string', () => {
    it.each([
      ['a quoted strong tag as such', '"abc"', strong('abc')],
      ['a quoted weak tag as such', 'W/"abc"', weak('abc')],
      ['a bare value as a strong tag', 'abc-123', strong('abc-123')],
      ['a bare S3-style md5 as a strong tag', '9b2cf535f27731c974343645a3985328', strong('9b2cf535f27731c974343645a3985328')],
      ['a bare value with etagc punctuation', 'a!#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~', strong('a!#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~')],
      ['a bare value starting with W/ as opaque data', 'W/abc', strong('W/abc')],
      ['an empty quoted tag', '""', strong('')],
    ])('takes %s', (_label, input, expected) => {
      expect(toEntityTag(input)).toEqual(expected);
    });

    describe('with characters that cannot appear in an entity-tag', () => {
      const unsafe = [
        ['a space', 'a b'],
        ['a quote', 'a"b'],
        ['a half-quoted value', '"abc'],
        ['a quoted value with a space', '"a b"'],
        ['CR LF', 'abc\r\nSet-Cookie: x=1'],
        ['a NUL', 'a\u0000b'],
        ['DEL', 'a\u007fb'],
        ['a Latin-1 letter', 'caf\u00e9'],
        ['an emoji', '\u{1F600}'],
        ['a lone surrogate', 'a\ud800'],
      ] as const;

      it.each(unsafe)('replaces a value with %s by a strong base64url digest', (_label, input) => {
        const tag = toEntityTag(input);
        expect(tag.weak).toBe(false);
        expect(tag.opaque).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(formatEntityTag(tag)).toMatch(/^"[\x21\x23-\x7e]*"$/);
      });

      it('is deterministic', () => {
        expect(toEntityTag('a b')).toEqual(toEntityTag('a b'));
      });

      it('gives different values different digests', () => {
        const opaques = new Set(unsafe.map(([, input]) => toEntityTag(input).opaque));
        expect(opaques.size).toBe(unsafe.length);
        expect(toEntityTag('a\ud800').opaque).not.toBe(toEntityTag('a\ufffd').opaque);
      });
    });
  });

  describe('with an object', () => {
    it.each([
      ['a bare tag, weak', { tag: 'abc', weak: true }, weak('abc')],
      ['a bare tag, weak: false', { tag: 'abc', weak: false }, strong('abc')],
      ['a bare tag, weak unspecified', { tag: 'abc' }, strong('abc')],
      ['a quoted weak tag, weak unspecified', { tag: 'W/"abc"' }, weak('abc')],
      ['a quoted weak tag, weak: false (the flag wins)', { tag: 'W/"abc"', weak: false }, strong('abc')],
      ['a quoted strong tag, weak: true', { tag: '"abc"', weak: true }, weak('abc')],
    ])('takes %s', (_label, input, expected) => {
      expect(toEntityTag(input)).toEqual(expected);
    });

    it('hashes an unsafe value and still honours weak', () => {
      const tag = toEntityTag({ tag: 'a b', weak: true });
      expect(tag).toEqual({ weak: true, opaque: toEntityTag('a b').opaque });
    });
  });
});

describe('fileEntityTag', () => {
  it.each([
    ['size and mtime in hex', 1234, 1_700_000_000_000, strong('18bcfe56800-4d2')],
    ['an empty file at the epoch', 0, 0, strong('0-0')],
    ['a fractional mtime floored to whole milliseconds', 16, 1000.9, strong('3e8-10')],
  ])('builds %s', (_label, size, mtimeMs, expected) => {
    expect(fileEntityTag(size, mtimeMs)).toEqual(expected);
  });

  it('changes when the mtime changes by one millisecond', () => {
    expect(fileEntityTag(10, 1001)).not.toEqual(fileEntityTag(10, 1000));
  });

  it.each([
    ['a negative size', -1, 0],
    ['a fractional size', 1.5, 0],
    ['a NaN mtime', 1, Number.NaN],
    ['an infinite mtime', 1, Number.POSITIVE_INFINITY],
  ])('refuses %s', (_label, size, mtimeMs) => {
    expect(() => fileEntityTag(size, mtimeMs)).toThrow(RangeError);
  });
});
