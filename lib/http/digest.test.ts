import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestFromHex, formatDigestField, isDigestValue, parseDigestField, parseWantDigest, selectDigests, type Digests } from './digest';

const SHA256 = createHash('sha256').update('hello').digest('base64');
const SHA512 = createHash('sha512').update('hello').digest('base64');
const BOTH: Digests = { 'sha-256': SHA256, 'sha-512': SHA512 };

describe('isDigestValue(algorithm, value)', () => {
  it.each([
    ['sha-256', SHA256, true],
    ['sha-512', SHA512, true],
    ['sha-256', SHA512, false],
    ['sha-512', SHA256, false],
    ['sha-256', createHash('sha256').update('hello').digest('hex'), false],
    ['sha-256', createHash('sha256').update('hello').digest('base64url'), false],
    ['sha-256', `${SHA256}:`, false],
    ['sha-256', '', false],
    ['sha-256', 42, false],
  ] as const)('%s %j is %s', (algorithm, value, expected) => {
    expect(isDigestValue(algorithm, value)).toBe(expected);
  });
});

describe('digestFromHex(algorithm, hex)', () => {
  it('turns a hex SHA-256 into the base64 the field carries', () => {
    expect(digestFromHex('sha-256', createHash('sha256').update('hello').digest('hex'))).toBe(SHA256);
    expect(digestFromHex('sha-256', createHash('sha256').update('hello').digest('hex').toUpperCase())).toBe(SHA256);
  });
  it.each([['abc'], ['z'.repeat(64)], [createHash('md5').update('x').digest('hex')], [undefined], [12]])('gives nothing for %j', (hex) => {
    expect(digestFromHex('sha-256', hex)).toBeUndefined();
  });
});

describe('parseWantDigest(field)', () => {
  it.each([
    ['sha-256=1, sha-512=3', { 'sha-256': 1, 'sha-512': 3 }],
    ['sha-256=10', { 'sha-256': 10 }],
    ['sha-256=11, sha-512=2', { 'sha-512': 2 }],
    ['sha-256, sha-512=2', { 'sha-512': 2 }],
    ['sha-256=-1', {}],
    ['sha-256=1.5', {}],
    ['SHA-256=1', {}],
    ['sha-256=1;x=y', { 'sha-256': 1 }],
    ['sha-256=1, sha-256=0', { 'sha-256': 0 }],
    ['', {}],
  ])('%j gives %j', (field, expected) => {
    expect(Object.fromEntries(parseWantDigest(field))).toEqual(expected);
  });
});

describe('selectDigests(want, known)', () => {
  it.each([
    [null, BOTH, ['sha-256', 'sha-512']],
    [null, { 'sha-256': SHA256 }, ['sha-256']],
    [null, {}, []],
    [null, undefined, []],
    [null, { 'sha-256': 'not base64!' }, []],
    ['sha-256=1', BOTH, ['sha-256']],
    ['sha-512=1', BOTH, ['sha-512']],
    ['sha-256=1, sha-512=3', BOTH, ['sha-512']],
    ['sha-256=5, sha-512=3', BOTH, ['sha-256']],
    ['sha-256=2, sha-512=2', BOTH, ['sha-512']],
    ['sha-512=5', { 'sha-256': SHA256 }, []],
    ['md5=10, unixsum=3', BOTH, []],
    ['sha-256=0', BOTH, []],
    ['sha-256=0, sha-512=1', BOTH, ['sha-512']],
    ['garbage', BOTH, []],
  ] as const)('want %j of %j sends %j', (want, known, expected) => {
    expect(selectDigests(want, known as Digests | undefined)).toEqual(expected);
  });
});

describe('formatDigestField / parseDigestField', () => {
  it('writes RFC 8941 byte sequences and reads them back', () => {
    const field = formatDigestField(BOTH, ['sha-256', 'sha-512'])!;
    expect(field).toBe(`sha-256=:${SHA256}:, sha-512=:${SHA512}:`);
    expect(parseDigestField(field)).toEqual(BOTH);
  });
  it('gives nothing for no algorithm', () => {
    expect(formatDigestField(BOTH, [])).toBeUndefined();
  });
  it('skips unknown algorithms and malformed members', () => {
    expect(parseDigestField(`md5=:abc=:, sha-256=:${SHA256}:, sha-512=:short:`)).toEqual({ 'sha-256': SHA256 });
  });
});
