import { CodeSample } from './code-sample';
import { Section } from './section';
import { SignedLinkForm } from './signed-link-form';
import { SNIPPETS } from './snippets';

/** signed(): links that work until they expire. */
export function SignedSection({ names }: { names: string[] }) {
  return (
    <Section
      id="signed"
      title="Signed links"
      factory="signed · signUrl"
      intro={
        <>
          A download that needs no login, only a link: <code>signUrl</code> adds an expiry and an HMAC signature, and the{' '}
          <code>signed()</code> hook lets through only links it made. Mint one with a short expiry, try it, wait, and
          try it again.
        </>
      }
    >
      {names.length === 0 ? (
        <p className="empty">No files to sign a link to: the media folder is empty.</p>
      ) : (
        <SignedLinkForm files={names} />
      )}
      <div className="code-grid">
        <CodeSample snippet={SNIPPETS.signed} />
        <CodeSample snippet={SNIPPETS.signUrl} />
      </div>
    </Section>
  );
}
