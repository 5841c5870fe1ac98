import { CodeSample } from './code-sample';
import { hrefFor } from './format';
import { Section } from './section';
import { SNIPPETS } from './snippets';

/** httpDownload: a file on another server, streamed through this route. */
export function RemoteSection({ upstream, names }: { upstream: string; names: string[] }) {
  return (
    <Section
      id="remote"
      title="Remote"
      factory="httpDownload"
      intro={
        <>
          A file fetched from another server and streamed through, never buffered: Range and conditional headers go
          upstream, its 206 and 304 come back, and only the configured origin is ever contacted.
        </>
      }
    >
      <p>
        Upstream (<code>UPSTREAM_URL</code>): <code className="break">{upstream}</code>
      </p>
      {names.length === 0 ? (
        <p className="empty">No files to fetch: the media folder is empty.</p>
      ) : (
        <ul className="remote-links">
          {names.map((name) => (
            <li key={name}>
              <a href={hrefFor('/api/remote/', name)}>{name}</a>
              <span className="muted" aria-hidden="true">
                {' '}
                ←{' '}
              </span>
              <code className="break muted">{hrefFor(upstream, name)}</code>
            </li>
          ))}
        </ul>
      )}
      <CodeSample snippet={SNIPPETS.remote} />
    </Section>
  );
}
