import { mediaRoot } from '@/db/config';
import { formatBytes, listMedia, mediaHref } from './_lib/media';

export const dynamic = 'force-dynamic';

export default async function Home() {
  const files = await listMedia(mediaRoot());
  return (
    <main>
      <h1>next-downloadview</h1>
      <p className="lead">Route-handler factories for file downloads in the Next.js App Router.</p>

      <section aria-labelledby="path-heading">
        <h2 id="path-heading">Path: files under the media folder</h2>
        {files.length === 0 ? (
          <p className="muted">The media folder is empty. Put files in it, or restart the demo to seed samples.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Size</th>
                <th scope="col">Modified</th>
                <th scope="col">
                  <span className="muted">View</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {files.map((file) => (
                <tr key={file.name}>
                  <td>
                    <a href={mediaHref('/api/path/', file.name)}>{file.name}</a>
                  </td>
                  <td className="num">{formatBytes(file.size)}</td>
                  <td>{file.modified.toISOString().replace('T', ' ').slice(0, 19)}</td>
                  <td>
                    <a href={`${mediaHref('/api/path/', file.name)}?inline`} aria-label={`Open ${file.name} in the browser`}>
                      open
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <pre>{`// app/api/path/[...path]/route.ts
export const { GET, HEAD } = pathDownload({ root: mediaRoot() });`}</pre>
      </section>

      <section aria-labelledby="exports-heading">
        <h2 id="exports-heading">Virtual: generated exports</h2>
        <ul className="links">
          <li>
            <a href="/api/exports/hello-world.txt">hello-world.txt</a> <span className="muted">a string, in memory</span>
          </li>
          <li>
            <a href="/api/exports/numbers.txt?count=1000">numbers.txt</a>{' '}
            <span className="muted">1 to 1000, generated as it streams, with an exact size</span>
          </li>
        </ul>
        <pre>{`// app/api/exports/numbers.txt/route.ts
export const { GET, HEAD } = virtualDownload({
  file: (request) => numbersFile(new URL(request.url).searchParams.get('count')),
});`}</pre>
      </section>
    </main>
  );
}
