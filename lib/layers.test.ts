import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

// The package's layers are enforced by the lint config (import-x/no-restricted-paths and
// no-cycle); these cases make sure the rule does fire on an arrow that runs the wrong way.

const eslint = new ESLint({ cwd: new URL('..', import.meta.url).pathname });

async function messages(filePath: string, code: string, rules: string[]): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => rules.includes(m.ruleId ?? '')).map((m) => m.message);
}

function restricted(filePath: string, code: string): Promise<string[]> {
  return messages(filePath, code, ['import-x/no-restricted-paths', 'no-restricted-imports']);
}

// The first lint loads the config and its plugins and builds the import graph the cycle rule
// walks: seconds on a quiet machine, much longer on a loaded one. It is paid once, here, with
// room for a busy machine, so each case's own timeout measures only its lint.
beforeAll(async () => {
  await eslint.lintText('export {};\n', { filePath: 'lib/errors.ts' });
}, 180_000);

describe('the layer rule', { timeout: 90_000 }, () => {
  it('refuses an HTTP helper that imports the engine', async () => {
    const messages = await restricted('lib/http/range.ts', "import { serve } from '../engine/serve';\nexport const x = serve;\n");
    expect(messages.join('\n')).toMatch(/bottom may only import layers below it/);
  });

  it('refuses the engine importing the server, a source or a factory', async () => {
    const code = [
      "import { startServer } from '../server/start-server';",
      "import { pathSource } from '../sources/path-source';",
      "import { pathDownload } from '../factories/path-download';",
      'export const all = [startServer, pathSource, pathDownload];',
      '',
    ].join('\n');
    expect(await restricted('lib/engine/decide.ts', code)).toHaveLength(3);
  });

  it('refuses a storage importing a source, and one integration importing another', async () => {
    expect(await restricted('lib/storage/storage.ts', "export { pathSource } from '../sources/path-source';\n")).toHaveLength(1);
    expect(await restricted('lib/testing/mismatches.ts', "export { signUrl } from '../signing/sign-url';\n")).toHaveLength(1);
  });

  it('lets a factory import the engine, and the server the engine', async () => {
    expect(await restricted('lib/factories/path-download.ts', "export { serve } from '../engine/serve';\n")).toEqual([]);
    expect(await restricted('lib/server/handoff-response.ts', "export { LENGTH_HEADER } from '../engine/handoff';\n")).toEqual([]);
  });

  it('lets the engine call offload, and refuses offload (rules and backends) importing the engine', async () => {
    expect(await restricted('lib/engine/delegate.ts', "export { handOverHeaders } from '../offload/hand-over';\n")).toEqual([]);
    expect(await restricted('lib/offload/rules.ts', "export { decide } from '../engine/decide';\n")).toHaveLength(1);
    expect(await restricted('lib/offload/backends.ts', "export { storageSource } from '../sources/storage-source';\n")).toHaveLength(1);
  });

  it('refuses a module of the package importing an entry point instead of the module itself', async () => {
    expect(await restricted('lib/engine/decide.ts', "export { pathDownload } from '../index';\n")).toHaveLength(1);
    expect(await restricted('lib/factories/send-file.ts', "export { FileSystemStorage } from '../storage/index';\n")).toHaveLength(1);
  });

  it('refuses the demo reaching into lib/ instead of importing the package by name', async () => {
    expect(await restricted('app/_lib/demo.ts', "export { pathDownload } from '@/lib';\n")).toHaveLength(1);
    expect(await restricted('app/_lib/demo.ts', "export { pathDownload } from '../../lib/index';\n")).toHaveLength(1);
    expect(await restricted('app/_lib/demo.ts', "export { pathDownload } from 'next-downloadview';\n")).toEqual([]);
  });

  it('refuses a cycle, even inside one layer', async () => {
    // serve.ts imports decide.ts; decide.ts importing serve.ts back closes a loop.
    const cycle = await messages('lib/engine/decide.ts', "import { serve } from './serve';\nexport const again = serve;\n", ['import-x/no-cycle']);
    expect(cycle).toHaveLength(1);
  });

  it('refuses an error class imported through a module that forwards it, but not from lib/errors.ts', async () => {
    expect(await restricted('lib/factories/path-download.ts', "import { ConfigurationError } from '../engine/options';\nexport const E = ConfigurationError;\n")).toHaveLength(1);
    expect(await restricted('lib/sources/http-source.ts', "import { HttpError } from '../http/http-error';\nexport const E = HttpError;\n")).toHaveLength(1);
    expect(await restricted('lib/sources/http-source.ts', "import { HttpError } from '../errors';\nexport const E = HttpError;\n")).toEqual([]);
  });
});

describe('the length rule', () => {
  const longFunction = (lines: number) => ['export function long(): number {', '  let n = 0;', ...Array.from({ length: lines - 4 }, () => '  n += 1;'), '  return n;', '}', ''].join('\n');

  it('refuses a function of the package over 80 lines, and lets one of 80 pass', async () => {
    expect(await messages('lib/http/range.ts', longFunction(81), ['max-lines-per-function'])).toHaveLength(1);
    expect(await messages('lib/http/range.ts', longFunction(80), ['max-lines-per-function'])).toEqual([]);
  });

  it('leaves tests and test support alone', async () => {
    expect(await messages('lib/http/range.test.ts', longFunction(120), ['max-lines-per-function'])).toEqual([]);
    expect(await messages('lib/helpers.test-support.ts', longFunction(120), ['max-lines-per-function'])).toEqual([]);
  });
});
