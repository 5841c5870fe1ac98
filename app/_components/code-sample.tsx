import type { ReactNode } from 'react';
import type { Snippet } from './snippets';

const KEYWORDS = new Set(['export', 'const', 'async', 'await', 'return', 'function', 'import', 'from', 'new']);
const FACTORIES = new Set([
  'objectDownload',
  'drizzleObjectDownload',
  'virtualDownload',
  'pathDownload',
  'storageDownload',
  'httpDownload',
  'signed',
  'signUrl',
  'receiveUpload',
  'makeZip',
]);
// Comments, strings (quotes and template literals), then words.
const TOKEN = /(\/\/[^\n]*)|('(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|([A-Za-z_$][\w$]*)/g;

/** A few lines of TypeScript, lightly coloured (keywords, strings, the kit's functions). */
function highlight(code: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const match of code.matchAll(TOKEN)) {
    const [text, comment, string, word] = match;
    const at = match.index;
    let className: string | undefined;
    if (comment) className = 'tok-comment';
    else if (string) className = 'tok-string';
    else if (word && KEYWORDS.has(word)) className = 'tok-keyword';
    else if (word && FACTORIES.has(word)) className = 'tok-factory';
    if (!className) continue;
    if (at > last) out.push(code.slice(last, at));
    out.push(
      <span key={at} className={className}>
        {text}
      </span>,
    );
    last = at + text.length;
  }
  if (last < code.length) out.push(code.slice(last));
  return out;
}

/** The route behind a section: its file name and the lines that matter. */
export function CodeSample({ snippet }: { snippet: Snippet }) {
  return (
    <figure className="code">
      <figcaption>{snippet.file}</figcaption>
      <pre tabIndex={0}>
        <code>{highlight(snippet.code)}</code>
      </pre>
    </figure>
  );
}
