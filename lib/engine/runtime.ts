import { ConfigurationError } from '../errors';

declare const EdgeRuntime: string | undefined;

/**
 * The kit reads files, hashes and streams with Node.js APIs. Under the Edge runtime Next loads a
 * route anyway and fails later, deep in a stub of `node:fs`, with a message that names none of
 * this; so every factory checks first and says the one thing to change.
 */
export function assertNodeRuntime(): void {
  const edge = typeof EdgeRuntime === 'string';
  const node = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (edge || !node) {
    throw new ConfigurationError(
      "next-downloadview needs the Node.js runtime: remove `export const runtime = 'edge'` from this route (Node.js is the default)",
    );
  }
}
