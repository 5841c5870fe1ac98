import { CodeSample } from './code-sample';
import { formatBytes } from './format';
import { Section } from './section';
import { SNIPPETS } from './snippets';

/** virtualDownload: content made in memory or generated while it streams. */
export function ExportsSection({ fileCount, zipSize }: { fileCount: number; zipSize: number }) {
  return (
    <Section
      id="exports"
      title="Exports"
      factory="virtualDownload"
      intro={
        <>
          Files that never touch the disk: a string, a generator, a database query, a ZIP built on the fly. Give a size
          when it is known and the download gets a length, a progress bar and resumable ranges.
        </>
      }
    >
      <ul className="exports">
        <li>
          <div>
            <a href="/api/exports/hello-world.txt">hello-world.txt</a>
            <p className="muted">A fixed string, measured and hashed once when the route loads.</p>
          </div>
        </li>
        <li>
          <div>
            <a href="/api/exports/numbers.txt?count=1000">numbers.txt</a>
            <p className="muted">
              1 to N, one per line, generated as it streams; its exact size is computed up front, so it resumes.
            </p>
            <form className="inline-form" action="/api/exports/numbers.txt" method="get">
              <div className="field narrow">
                <label htmlFor="numbers-count">Count (1 to 100,000,000)</label>
                <input id="numbers-count" name="count" type="number" inputMode="numeric" min={1} max={100_000_000} step={1} defaultValue={1000} required />
              </div>
              <div className="actions">
                <button type="submit" className="button">
                  Download numbers.txt
                </button>
              </div>
            </form>
          </div>
        </li>
        <li>
          <div>
            <a href="/api/exports/files.csv">files.csv</a>
            <p className="muted">
              The <code>files</code> table as CSV, a page of rows at a time. Its size is not known before the last row,
              so this one has no length.
            </p>
          </div>
        </li>
        <li>
          <div>
            <a href="/api/exports/files.zip">files.zip</a>
            <p className="muted">
              All {fileCount} stored {fileCount === 1 ? 'file' : 'files'} in one ZIP of exactly {formatBytes(zipSize)}, built
              while it streams by <code>zipDownload</code> (next-downloadview/zip): one file open at a time, memory flat
              whatever the total. Each file's CRC-32 is stored with its row, so a resumed download reads only what it still
              needs.
            </p>
          </div>
        </li>
      </ul>
      <div className="code-grid">
        <CodeSample snippet={SNIPPETS.hello} />
        <CodeSample snippet={SNIPPETS.numbers} />
        <CodeSample snippet={SNIPPETS.zip} />
      </div>
    </Section>
  );
}
