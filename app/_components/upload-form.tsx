'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { formatBytes } from './format';
import { useHydrated } from './use-hydrated';

type UploadState =
  | { kind: 'idle' }
  | { kind: 'uploading'; name: string; loaded: number; total: number }
  | { kind: 'done'; name: string; size: number }
  | { kind: 'error'; message: string };

/** Hex SHA-256 of a file, computed in the browser (Web Crypto: a secure context, which 127.0.0.1 and localhost are). */
async function sha256Hex(file: File): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The kit's errors are one line of text/plain; S3's are XML with a <Code>. */
function reasonOf(status: number, text: string, fallback: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  return `(${status}): ${code ?? (text.trim() || fallback)}`;
}

/**
 * Uploads one file with XMLHttpRequest, whose upload events (unlike fetch's) report progress.
 * On disk it is POSTed to /api/files, which streams it into the storage. With `direct` (the files
 * storage is S3) the browser hashes it, gets a presigned PUT from /api/files/direct, PUTs it
 * straight to the bucket (which checks its length and SHA-256) and completes it at
 * /api/files/direct/complete; without Web Crypto it falls back to /api/files. A file over the
 * limit is refused here before a byte is sent; the server checks again (413) and its message is
 * shown as it comes.
 */
export function UploadForm({ maxBytes, direct = false }: { maxBytes: number; direct?: boolean }) {
  const router = useRouter();
  const form = useRef<HTMLFormElement>(null);
  const request = useRef<XMLHttpRequest | null>(null);
  const [state, setState] = useState<UploadState>({ kind: 'idle' });
  const hydrated = useHydrated();
  const limit = formatBytes(maxBytes);

  // Leaving the page (or a re-render that unmounts the form) stops an upload in flight.
  useEffect(() => () => request.current?.abort(), []);

  function tooLarge(file: File): string | undefined {
    if (file.size <= maxBytes) return undefined;
    // "2 MiB, over the limit of 2 MiB" says nothing: then the exact numbers.
    const exact = formatBytes(file.size) === limit;
    const size = exact ? `${file.size.toLocaleString('en')} bytes` : formatBytes(file.size);
    const max = exact ? `${maxBytes.toLocaleString('en')} bytes` : limit;
    return `“${file.name}” is ${size}, over the limit of ${max}. Nothing was uploaded.`;
  }

  function chosen(file: File | undefined) {
    const problem = file && tooLarge(file);
    setState(problem ? { kind: 'error', message: problem } : { kind: 'idle' });
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const file = new FormData(event.currentTarget).get('file');
    if (!(file instanceof File) || file.name === '') {
      setState({ kind: 'error', message: 'Choose a file to upload first.' });
      return;
    }
    const problem = tooLarge(file);
    if (problem) {
      setState({ kind: 'error', message: problem });
      return;
    }

    setState({ kind: 'uploading', name: file.name, loaded: 0, total: file.size });
    const upload = direct && typeof crypto !== 'undefined' && crypto.subtle ? uploadDirect(file) : uploadThroughApp(file);
    upload.then(
      (message) => {
        request.current = null;
        if (message === 'aborted') return setState({ kind: 'idle' });
        if (message) return setState({ kind: 'error', message });
        setState({ kind: 'done', name: file.name, size: file.size });
        form.current?.reset();
        router.refresh();
      },
      () => {
        request.current = null;
        setState({ kind: 'error', message: 'The upload did not complete: the connection failed. Try again.' });
      },
    );
  }

  /** Sends a body with progress; resolves with the answer, or 'aborted' when cancelled. */
  function send(method: string, url: string, body: XMLHttpRequestBodyInit, headers: Record<string, string>, name: string) {
    return new Promise<{ status: number; text: string } | 'aborted'>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      request.current = xhr;
      xhr.upload.addEventListener('progress', (progress) => {
        if (progress.lengthComputable) setState({ kind: 'uploading', name, loaded: progress.loaded, total: progress.total });
      });
      xhr.addEventListener('load', () => resolve({ status: xhr.status, text: xhr.responseText }));
      xhr.addEventListener('error', () => reject(new Error('connection failed')));
      xhr.addEventListener('abort', () => resolve('aborted'));
      xhr.open(method, url);
      for (const [header, value] of Object.entries(headers)) xhr.setRequestHeader(header, value);
      xhr.send(body);
    });
  }

  /** Through the app: POST /api/files. Resolves with an error message, 'aborted', or undefined when done. */
  async function uploadThroughApp(file: File): Promise<string | undefined> {
    const body = new FormData();
    body.append('file', file);
    const answer = await send('POST', '/api/files', body, {}, file.name);
    if (answer === 'aborted') return answer;
    if (answer.status === 201) return undefined;
    return `The server refused the upload ${reasonOf(answer.status, answer.text, 'error')}`;
  }

  /** Straight to the bucket: hash, presign, PUT, complete. */
  async function uploadDirect(file: File): Promise<string | undefined> {
    const sha256 = await sha256Hex(file);
    const start = await fetch('/api/files/direct', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: file.name, size: file.size, sha256, type: file.type }),
    });
    if (start.status !== 201) return `The server refused the upload ${reasonOf(start.status, await start.text(), start.statusText)}`;
    const ticket = (await start.json()) as { url: string; method: string; headers: Record<string, string>; key: string };
    const answer = await send(ticket.method, ticket.url, file, ticket.headers, file.name);
    if (answer === 'aborted') return answer;
    if (answer.status !== 200) return `The store refused the upload ${reasonOf(answer.status, answer.text, 'error')}`;
    const complete = await fetch('/api/files/direct/complete', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: ticket.key }),
    });
    if (complete.status !== 201) return `The server could not record the upload ${reasonOf(complete.status, await complete.text(), complete.statusText)}`;
    return undefined;
  }

  const uploading = state.kind === 'uploading';
  const percent = uploading && state.total > 0 ? Math.floor((state.loaded / state.total) * 100) : 0;

  return (
    <form ref={form} className="upload" onSubmit={submit}>
      <div className="field">
        <label htmlFor="upload-file">File to upload</label>
        <input
          id="upload-file"
          name="file"
          type="file"
          required
          disabled={uploading}
          aria-describedby="upload-limit"
          aria-invalid={state.kind === 'error' || undefined}
          onChange={(event) => chosen(event.currentTarget.files?.[0])}
        />
        <p id="upload-limit" className="hint">
          Up to {limit} per file (<code>MAX_UPLOAD_BYTES</code>). Stored under <code>uploads/</code> in the files storage
          {direct ? ', sent by the browser straight to the bucket (a presigned PUT of its exact size and SHA-256).' : '.'}
        </p>
        <noscript>
          <p className="hint">
            Uploading from this page needs JavaScript. Without it, post the file yourself:{' '}
            <code>curl -F file=@report.pdf …/api/files</code>
          </p>
        </noscript>
      </div>
      <div className="actions">
        <button type="submit" className="button primary" disabled={!hydrated || uploading}>
          Upload
        </button>
        {uploading && (
          <button type="button" className="button" onClick={() => request.current?.abort()}>
            Cancel
          </button>
        )}
      </div>
      {uploading && (
        <div className="progress">
          <label htmlFor="upload-progress">
            Uploading {state.name}: {percent}% ({formatBytes(state.loaded)} of {formatBytes(state.total)})
          </label>
          <progress id="upload-progress" max={state.total} value={state.loaded} />
        </div>
      )}
      <div role="status" className="status">
        {state.kind === 'done' && (
          <p className="ok">
            Uploaded {state.name} ({formatBytes(state.size)}).
          </p>
        )}
      </div>
      <div role="alert" className="status">
        {state.kind === 'error' && <p className="error">{state.message}</p>}
      </div>
    </form>
  );
}
