import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SNIPPETS } from './snippets';

const root = path.resolve(import.meta.dirname, '../..');

/** Lines without their indentation, blank ones dropped. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

describe('the route snippets shown on the page', () => {
  it.each(Object.entries(SNIPPETS))('%s: every line is in its file, in order', async (_key, snippet) => {
    const source = lines(await readFile(path.join(root, snippet.file), 'utf8'));
    let at = 0;
    for (const line of lines(snippet.code)) {
      const found = source.indexOf(line, at);
      expect(found, `${snippet.file} has no line ${JSON.stringify(line)} after line ${at}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  });
});
