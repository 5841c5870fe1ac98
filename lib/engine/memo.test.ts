import { describe, expect, it } from 'vitest';
import { memoize } from './memo';

describe('memoize', () => {
  it('computes a key once while it is remembered', () => {
    let calls = 0;
    const upper = memoize((key) => (calls++, key.toUpperCase()));
    expect(upper('a')).toBe('A');
    expect(upper('a')).toBe('A');
    expect(calls).toBe(1);
  });

  it('holds at most `max` keys: it starts over when full, and answers stay right', () => {
    let calls = 0;
    const double = memoize((key) => (calls++, key + key), 2);
    expect([double('a'), double('b'), double('c'), double('a')]).toEqual(['aa', 'bb', 'cc', 'aa']);
    // 'c' cleared the two before it, so 'a' was computed again.
    expect(calls).toBe(4);
  });

  it('never keeps a key longer than maxKeyLength', () => {
    let calls = 0;
    const same = memoize((key) => (calls++, key), 10, 4);
    same('12345');
    same('12345');
    expect(calls).toBe(2);
  });
});
