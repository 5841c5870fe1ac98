import { resolveContentType } from 'next-downloadview/http';
import type { StoredFile } from 'next-downloadview/storage';
import { CodeSample } from './code-sample';
import { formatBytes, formatTime, hrefFor } from './format';
import { Section } from './section';
import { SNIPPETS } from './snippets';

/** Most players the section shows: each one may read its file's first bytes as the page loads. */
const PLAYER_LIMIT = 6;

/** The audio and video files of the folder, by the Content-Type the routes send them with. */
export function playableMedia(entries: StoredFile[]): { entry: StoredFile; kind: 'audio' | 'video'; type: string }[] {
  const playable: { entry: StoredFile; kind: 'audio' | 'video'; type: string }[] = [];
  for (const entry of entries) {
    const type = resolveContentType({ source: entry.contentType, name: entry.name });
    const kind = type.startsWith('video/') ? 'video' : type.startsWith('audio/') ? 'audio' : undefined;
    if (kind) playable.push({ entry, kind, type });
    if (playable.length === PLAYER_LIMIT) break;
  }
  return playable;
}

/**
 * pathDownload and storageDownload: the same media folder, by path on disk and through a Storage;
 * its audio and video files play in the page, inline (media types are not active content).
 */
export function MediaSection({ entries, truncated = false }: { entries: StoredFile[]; truncated?: boolean }) {
  const players = playableMedia(entries);
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
          <code>activeContent: &apos;sandbox&apos;</code>). Audio and video play below from <code>?inline</code>{' '}
          links: the player asks for byte ranges as it seeks, and each is a <code>206</code>.
        </>
      }
    >
      {players.length > 0 ? (
        <div className="players">
          {players.map(({ entry, kind, type }) => {
            const src = `${hrefFor('/api/path/', entry.name)}?inline`;
            const label = `Play ${entry.name}`;
            return (
              <figure key={entry.name} className={`player ${kind}`}>
                {kind === 'video' ? (
                  <video controls preload="metadata" src={src} aria-label={label} data-type={type} />
                ) : (
                  <audio controls preload="metadata" src={src} aria-label={label} data-type={type} />
                )}
                <figcaption>
                  <code>{entry.name}</code> · {formatBytes(entry.size)} · <code className="type">{type}</code>
                </figcaption>
              </figure>
            );
          })}
        </div>
      ) : null}
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
