import { describe, expect, it } from 'vitest';
import { extractSnippets } from './consumer-test.mjs';

const fence = '```';

describe('extractSnippets (the README blocks the consumer test writes into its app)', () => {
  it('takes a ts or tsx block whose first line names a relative path, with or without a description', () => {
    const markdown = [
      `${fence}ts`,
      '// app/media/[...path]/route.ts: every file under a folder',
      'export const x = 1;',
      fence,
      '',
      `${fence}tsx`,
      '// app/page.tsx',
      'export default function Page() { return null; }',
      fence,
    ].join('\n');
    expect(extractSnippets(markdown)).toEqual([
      { file: 'app/media/[...path]/route.ts', code: '// app/media/[...path]/route.ts: every file under a folder\nexport const x = 1;\n', line: 1 },
      { file: 'app/page.tsx', code: '// app/page.tsx\nexport default function Page() { return null; }\n', line: 6 },
    ]);
  });

  it('takes an mjs block naming an .mjs file (a server of one\'s own)', () => {
    const markdown = [`${fence}mjs`, '// server.mjs: run with node', 'await 0;', fence].join('\n');
    expect(extractSnippets(markdown)).toEqual([{ file: 'server.mjs', code: '// server.mjs: run with node\nawait 0;\n', line: 1 }]);
  });

  it('leaves out blocks without a path on their first line, and blocks of other languages', () => {
    const markdown = [
      `${fence}ts`,
      '// or per route (`offload: false` turns it off)',
      'export const y = 2;',
      fence,
      `${fence}ts`,
      "import { pathDownload } from 'next-downloadview';",
      fence,
      `${fence}js`,
      '// next.config.mjs',
      'export default {};',
      fence,
      `${fence}sh`,
      '// app/x.ts',
      fence,
    ].join('\n');
    expect(extractSnippets(markdown)).toEqual([]);
  });

  it('refuses a path named by two blocks, naming both lines', () => {
    const block = [`${fence}ts`, '// app/uploads/route.ts', 'export {};', fence].join('\n');
    expect(() => extractSnippets(`${block}\n\n${block}\n`)).toThrow('README lines 1 and 6: two snippets are both app/uploads/route.ts');
  });

  it('refuses a path that leaves the app', () => {
    const block = [`${fence}ts`, '// app/../../outside.ts', 'export {};', fence].join('\n');
    expect(() => extractSnippets(block)).toThrow('must stay inside the app');
  });
});
