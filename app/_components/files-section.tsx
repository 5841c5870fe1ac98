import type { FileRow } from '@/db/schema';
import { storageDescription } from '@/app/_lib/demo';
import type { FileDownloads } from '@/app/_lib/downloads';
import { CodeSample } from './code-sample';
import { DeleteButton } from './delete-button';
import { formatBytes, formatTime } from './format';
import { Section } from './section';
import { SNIPPETS } from './snippets';
import { UploadForm } from './upload-form';

/** drizzleObjectDownload (objectDownload over a Drizzle table): the rows of the `files` table, each served from its stored bytes. */
export function FilesSection({
  rows,
  total = rows.length,
  maxBytes,
  downloads = new Map(),
}: {
  rows: FileRow[];
  total?: number;
  maxBytes: number;
  /** Each row's downloads from the log (rows without an entry show none). */
  downloads?: Map<number, FileDownloads>;
}) {
  const storage = storageDescription();
  return (
    <Section
      id="files"
      title="Files"
      factory="drizzleObjectDownload"
      intro={
        <>
          Rows of the <code>files</code> table (Drizzle + SQLite). The route reads a row by id and serves the bytes at
          its <code>storagePath</code> under the row’s name, type and size, with the SHA-256 as a strong ETag.{' '}
          <em>Open</em> downloads SVG, HTML and XML files instead of showing them: the kit never lets an upload’s
          script run on the app’s origin. Every download is recorded when it ends (the kit’s download events):
          each row shows its completed downloads and the latest ones the client broke off, and{' '}
          <a href="/api/downloads">
            <code>/api/downloads</code>
          </a>{' '}
          lists the whole log, newest first.
        </>
      }
    >
      <p className="storage-in-use" data-testid="files-storage">
        Bytes stored in{' '}
        {storage.kind === 's3' ? (
          <>
            S3 at <code>{storage.location}</code>
            {storage.endpoint ? (
              <>
                {' '}
                on <code>{storage.endpoint}</code>
              </>
            ) : null}
          </>
        ) : (
          <>
            the media folder (<code>{storage.location}</code>)
          </>
        )}
        {' · '}downloads{' '}
        {storage.delivery === 'redirect' ? (
          <>
            <strong>redirected</strong>: a 307 to a presigned URL valid 60 s, carrying the same file name
          </>
        ) : (
          <>
            <strong>streamed</strong> through the app
          </>
        )}{' '}
        (<code>FILES_STORAGE</code>, <code>FILES_DELIVERY</code>).
      </p>
      <UploadForm maxBytes={maxBytes} direct={storage.kind === 's3'} />
      {total > rows.length ? (
        <p className="note" data-testid="files-truncated">
          The table holds {total.toLocaleString('en')} files: the newest {rows.length} are shown. <code>files.csv</code> and{' '}
          <code>files.zip</code> below hold them all.
        </p>
      ) : null}
      {rows.length === 0 ? (
        <div className="empty">
          <p>
            <strong>No files yet.</strong>
          </p>
          <p>
            Choose a file above and press <em>Upload</em>: its bytes go to the storage named above, a row goes to the{' '}
            <code>files</code> table, and it can be downloaded from <code>/api/files/&lt;id&gt;</code> right away. Sample
            files are recorded again when the demo starts with an empty table.
          </p>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="stack">
            <caption className="visually-hidden">Files in the database</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" className="num">
                  Size
                </th>
                <th scope="col">Type</th>
                <th scope="col">Modified</th>
                <th scope="col">SHA-256</th>
                <th scope="col">Downloads</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id}>
                  <th scope="row" className="name">
                    {row.name}
                  </th>
                  <td data-label="Size" className="num">
                    <data value={row.size} title={`${row.size.toLocaleString('en')} bytes`}>
                      {formatBytes(row.size)}
                    </data>
                  </td>
                  <td data-label="Type">
                    <code className="type">{row.contentType}</code>
                  </td>
                  <td data-label="Modified">
                    <time dateTime={row.updatedAt.toISOString()}>{formatTime(row.updatedAt)}</time>
                  </td>
                  <td data-label="SHA-256">
                    <code className="hash" title={row.sha256}>
                      {row.sha256.slice(0, 12)}
                    </code>
                  </td>
                  <td data-label="Downloads">
                    <DownloadsCell id={row.id} downloads={downloads.get(row.id)} />
                  </td>
                  <td className="actions-cell">
                    <div className="row-actions">
                      <a className="button small" href={`/api/files/${row.id}`} aria-label={`Download ${row.name}`}>
                        Download
                      </a>
                      <a className="button small" href={`/api/files/${row.id}?inline`} aria-label={`Open ${row.name} in the browser`}>
                        Open
                      </a>
                      <DeleteButton id={row.id} name={row.name} />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="code-grid">
        <CodeSample snippet={SNIPPETS.files} />
        <CodeSample snippet={SNIPPETS.upload} />
      </div>
    </Section>
  );
}

/** A row's completed downloads, and the latest aborted ones with how far each got. */
function DownloadsCell({ id, downloads = { completed: 0, aborted: [] } }: { id: number; downloads?: FileDownloads }) {
  return (
    <div className="downloads" data-testid={`downloads-${id}`}>
      <span data-testid="completed">{downloads.completed.toLocaleString('en')} completed</span>
      {downloads.aborted.length > 0 ? (
        <ul className="aborted" aria-label="Latest aborted downloads">
          {downloads.aborted.map((aborted, index) => (
            <li key={`${aborted.startedAt.getTime()}-${index}`} data-testid="aborted">
              aborted at{' '}
              <data value={aborted.bytesSent} title={`${aborted.bytesSent.toLocaleString('en')} bytes`}>
                {formatBytes(aborted.bytesSent)}
              </data>
              {aborted.expectedBytes !== null ? <> of {formatBytes(aborted.expectedBytes)}</> : null},{' '}
              <time dateTime={aborted.startedAt.toISOString()}>{formatTime(aborted.startedAt)}</time>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
