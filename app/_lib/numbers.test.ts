import { describe, expect, it } from 'vitest';
import { MAX_COUNT, numbers, numbersSize, parseCount } from './numbers';

function generated(count: number): string {
  return Buffer.concat([...numbers(count)]).toString('latin1');
}

function expected(count: number): string {
  let out = '';
  for (let n = 1; n <= count; n++) out += `${n}\n`;
  return out;
}

describe('parseCount', () => {
  it.each([
    ['1', 1],
    ['1000', 1000],
    ['100000000', MAX_COUNT],
  ])('reads %s as %d', (value, count) => {
    expect(parseCount(value)).toBe(count);
  });

  it('defaults to 1000 when the parameter is absent', () => {
    expect(parseCount(null)).toBe(1000);
  });

  it.each(['', '0', '-1', '1.5', '1e3', '0x10', ' 5', '5 ', '100000001', '999999999999', 'abc', '01'])(
    'refuses %j with a 400',
    (value) => {
      expect(() => parseCount(value)).toThrow(expect.objectContaining({ status: 400 }));
    },
  );
});

describe('numbers', () => {
  it.each([1, 9, 10, 11, 99, 100, 999, 1000, 1001, 1234, 1999, 2000, 9999, 10_000, 10_001, 100_000, 131_073, 1_000_001])('generates exactly 1..%d, one per line', (count) => {
    expect(generated(count)).toBe(expected(count));
  });

  it('yields a 64 KiB first chunk, then chunks of 1 MiB', () => {
    const sizes = [...numbers(500_000)].map((chunk) => chunk.length);
    expect(sizes.length).toBeGreaterThan(2);
    // A small first chunk gets the first bytes out at once.
    expect(sizes[0]).toBe(64 * 1024);
    expect(Math.max(...sizes)).toBe(1024 * 1024);
  });
});

describe('numbersSize', () => {
  it.each([1, 9, 10, 99, 100, 999, 1000, 54_321, 1_000_000])('is the byte length of the output for %d', (count) => {
    expect(numbersSize(count)).toBe(generated(count).length);
  });

  it('is 888888898 bytes for 10^8', () => {
    // 9*2 + 90*3 + 900*4 + ... + 9e7*9 + 1*10
    expect(numbersSize(MAX_COUNT)).toBe(888_888_898);
  });
});
