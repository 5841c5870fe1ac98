'use client';

import { useEffect, useState, type FormEvent } from 'react';
import { useHydrated } from './use-hydrated';

interface Minted {
  name: string;
  url: string;
  /** When the server stops accepting it: the `expires` of the URL, in milliseconds. */
  expiresMs: number;
}

type Check = { kind: 'checking' } | { kind: 'ok'; text: string } | { kind: 'refused'; text: string };

/** Seconds left (rounded up), or a negative number of whole seconds since expiry. */
function secondsLeft(expiresMs: number, now: number): number {
  return expiresMs > now ? Math.ceil((expiresMs - now) / 1000) : -Math.floor((now - expiresMs) / 1000);
}

/**
 * Mints a signed link (POST /api/signed-links), shows it with a countdown, and checks it on
 * demand: a one-byte ranged GET, so a valid link costs one byte and an expired one shows the
 * server's 403 reason.
 */
export function SignedLinkForm({ files }: { files: string[] }) {
  const [minted, setMinted] = useState<Minted>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [check, setCheck] = useState<Check>();
  const [now, setNow] = useState(() => Date.now());
  const hydrated = useHydrated();

  // Tick while a link is alive, and once more after it expires.
  const alive = minted !== undefined && minted.expiresMs > now;
  useEffect(() => {
    if (!alive) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [alive]);

  async function mint(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const path = String(data.get('path') ?? '');
    const expiresIn = Number(data.get('expiresIn'));
    setBusy(true);
    setError(undefined);
    setCheck(undefined);
    try {
      const response = await fetch('/api/signed-links', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path, expiresIn }),
      });
      if (response.status !== 201) {
        setError(`Could not mint a link (${response.status}): ${(await response.text()).trim()}`);
        return;
      }
      const { url } = (await response.json()) as { url: string };
      const expires = Number(new URL(url, window.location.href).searchParams.get('expires'));
      setMinted({ name: path, url, expiresMs: expires * 1000 });
      setNow(Date.now());
    } catch {
      setError('Could not mint a link: the connection failed. Try again.');
    } finally {
      setBusy(false);
    }
  }

  async function checkLink(url: string) {
    setCheck({ kind: 'checking' });
    try {
      const response = await fetch(url, { headers: { range: 'bytes=0-0' }, cache: 'no-store' });
      const status = `${response.status} ${response.statusText}`.trim();
      if (response.ok) {
        await response.body?.cancel();
        setCheck({ kind: 'ok', text: `${status}: the link works.` });
      } else {
        setCheck({ kind: 'refused', text: `${status}: ${(await response.text()).trim()}` });
      }
    } catch {
      setCheck({ kind: 'refused', text: 'The request failed: no answer from the server.' });
    }
  }

  const left = minted ? secondsLeft(minted.expiresMs, now) : 0;
  const absolute = minted ? new URL(minted.url, window.location.href).href : '';

  return (
    <div className="signed">
      <form className="inline-form" onSubmit={(event) => void mint(event)}>
        <div className="field">
          <label htmlFor="signed-path">File</label>
          {/* A name with accents by default: the one a download is most likely to get wrong. */}
          <select id="signed-path" name="path" defaultValue={files.find((name) => /[\u0080-\uffff]/.test(name)) ?? files[0]}>
            {files.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div className="field narrow">
          <label htmlFor="signed-expires">Expires in (seconds)</label>
          <input id="signed-expires" name="expiresIn" type="number" inputMode="numeric" min={1} max={86400} step={1} defaultValue={5} required />
        </div>
        <div className="actions">
          <button type="submit" className="button primary" disabled={!hydrated || busy}>
            Mint link
          </button>
        </div>
      </form>
      <div role="alert">{error && <p className="error">{error}</p>}</div>
      {minted && (
        <div className="minted" data-state={left > 0 ? 'valid' : 'expired'}>
          <p className="minted-head">
            <span>
              Signed link to <strong>{minted.name}</strong>
            </span>
            <span className={left > 0 ? 'badge ok' : 'badge error'}>
              {left > 0 ? `Valid for ${left} s` : `Expired${left < 0 ? ` ${-left} s ago` : ''}`}
            </span>
          </p>
          {/* Announced once, not at every tick of the countdown. */}
          <p className="visually-hidden" aria-live="polite">
            {left > 0 ? '' : 'The link has expired.'}
          </p>
          <label htmlFor="signed-url" className="visually-hidden">
            Signed URL
          </label>
          <input id="signed-url" className="url" readOnly value={absolute} onFocus={(event) => event.currentTarget.select()} />
          <div className="actions">
            <a className="button" href={minted.url}>
              Try it: download
            </a>
            <button type="button" className="button" onClick={() => void checkLink(minted.url)}>
              Check the link
            </button>
          </div>
          <div role="status" className="status">
            {check?.kind === 'checking' && <p className="muted">Checking…</p>}
            {check?.kind === 'ok' && <p className="ok">{check.text}</p>}
            {check?.kind === 'refused' && <p className="error">{check.text}</p>}
          </div>
        </div>
      )}
    </div>
  );
}
