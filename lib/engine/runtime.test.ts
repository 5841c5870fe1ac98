import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors';
import { pathDownload } from '../factories/path-download';
import { virtualDownload } from '../factories/virtual-download';

const edge = globalThis as { EdgeRuntime?: string };

describe('the factories under the Edge runtime', () => {
  afterEach(() => {
    delete edge.EdgeRuntime;
  });

  it('throw, when the route module loads, one line that names the fix', () => {
    edge.EdgeRuntime = 'edge-runtime';
    for (const create of [() => pathDownload({ root: '/srv' }), () => virtualDownload({ file: { content: 'x' } })]) {
      let thrown: unknown;
      try {
        create();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigurationError);
      const message = (thrown as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toContain("remove `export const runtime = 'edge'`");
      expect(message).toContain('Node.js runtime');
    }
  });

  it('are created as usual under Node.js', () => {
    expect(typeof pathDownload({ root: '/srv' }).GET).toBe('function');
  });
});
