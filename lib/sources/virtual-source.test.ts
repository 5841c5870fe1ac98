import { describe, expect, it } from 'vitest';
import { virtualSource } from './virtual-source';
import { readText as text } from '../helpers.test-support';

const RANGES = [
  { start: 0, end: 1 },
  { start: 5, end: 7 },
];

describe('virtualSource', () => {
  describe('openRanges', () => {
    it('slices text and bytes in memory, in any order, and says they can seek', async () => {
      const source = virtualSource({ name: 'a.txt', content: 'abcdefghij' });
      expect(source.sequential).toBe(false);
      const [late, early] = await source.openRanges!([{ start: 8, end: 9 }, { start: 0, end: 1 }]);
      expect(await text(late!)).toBe('ij');
      expect(await text(early!)).toBe('ab');
    });

    it('slices a Blob without reading it whole', async () => {
      const source = virtualSource({ name: 'a.txt', content: new Blob(['abcde', 'fghij']) });
      expect(source.sequential).toBe(false);
      const parts = await source.openRanges!(RANGES);
      expect(await Promise.all(parts.map(text))).toEqual(['ab', 'fgh']);
    });

    it('reads a stream given as content once for every range', async () => {
      const content = new Blob(['abcdefghij']).stream();
      const source = virtualSource({ name: 'a.txt', size: 10, content });
      expect(source.sequential).toBe(true);
      const parts = await source.openRanges!(RANGES);
      expect(await text(parts[0]!)).toBe('ab');
      expect(await text(parts[1]!)).toBe('fgh');
    });

    it('calls a content function once for every range', async () => {
      let calls = 0;
      const source = virtualSource({
        name: 'a.txt',
        size: 10,
        content: () => {
          calls++;
          return ['abc', 'def', 'ghij'];
        },
      });
      const parts = await source.openRanges!(RANGES);
      expect(await text(parts[0]!)).toBe('ab');
      expect(await text(parts[1]!)).toBe('fgh');
      expect(calls).toBe(1);
    });

    it('errors the range generated content ends before', async () => {
      const source = virtualSource({ name: 'a.txt', size: 10, content: () => ['abcdef'] });
      const parts = await source.openRanges!([{ start: 0, end: 1 }, { start: 5, end: 9 }]);
      expect(await text(parts[0]!)).toBe('ab');
      await expect(text(parts[1]!)).rejects.toThrow(/ended/);
    });
  });
});
