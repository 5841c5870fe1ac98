import type { StoredFile } from 'next-downloadview/storage';
import { CodeSample } from './code-sample';
import { formatBytes, formatTime, hrefFor } from './format';
import { Section } from './section';
import { SNIPPETS } from './snippets';

/** pathDownload and storageDownload: the same media folder, by path on disk and through a Storage. */
export function MediaSection({ entries, truncated = false }: { entries: StoredFile[]; truncated?: boolean }) {
  return (
    <Section
      id="media"
      title="Media folder"
      factory="pathDownload · storageDownload"
      intro={
        <>
          Everything under <code>MEDIA_ROOT</code>, listed with <code>media.list()</code>. The name links to{' '}
          <code>pathDownload</code>, which serves a path under a folder on disk; <em>Via storage</em> goes through{' '}
          <code>storageDownload</code>, which asks a <code>Storage</code> (here a folder; an object store fits the same
          interface). <em>Open</em> shows SVG and HTML files in a sandbox, with their scripts off (
          <code>activeContent: &apos;sandbox&apos;</code>).
        </>
      }
    >
      {truncated ? (
        <p className="note" data-testid="media-truncated">
          The folder holds more files than the page lists: the first {entries.length} found are shown.
        </p>
      ) : null}
      {entries.length === 0 ? (
        <p className="empty">
          The media folder is empty. Upload a file above, or restart the demo to seed the sample files.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="stack">
            <caption className="visually-hidden">Files in the media folder</caption>
            <thead>
              <tr>
                <th scope="col">Name (pathDownload)</th>
                <th scope="col" className="num">
                  Size
                </th>
                <th scope="col">Modified</th>
                <th scope="col">
                  <span className="visually-hidden">Other links</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.name}>
                  <th scope="row" className="name">
                    <a href={hrefFor('/api/path/', entry.name)}>{entry.name}</a>
                  </th>
                  <td data-label="Size" className="num">
                    <data value={entry.size}>{formatBytes(entry.size)}</data>
                  </td>
                  <td data-label="Modified">
                    {entry.lastModified && <time dateTime={entry.lastModified.toISOString()}>{formatTime(entry.lastModified)}</time>}
                  </td>
                  <td className="actions-cell">
                    <div className="row-actions">
                      <a className="button small" href={`${hrefFor('/api/path/', entry.name)}?inline`} aria-label={`Open ${entry.name} in the browser, by path`}>
                        Open
                      </a>
                      <a className="button small" href={hrefFor('/api/storage/', entry.name)} aria-label={`Download ${entry.name} through storageDownload`}>
                        Via storage
                      </a>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="code-grid">
        <CodeSample snippet={SNIPPETS.path} />
        <CodeSample snippet={SNIPPETS.storage} />
      </div>
    </Section>
  );
}
