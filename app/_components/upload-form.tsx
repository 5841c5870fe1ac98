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

/**
 * Uploads one file to POST /api/files with XMLHttpRequest, whose upload events (unlike fetch's)
 * report progress. A file over the limit is refused here before a byte is sent; the server
 * checks again (413) and its message is shown as it comes.
 */
export function UploadForm({ maxBytes }: { maxBytes: number }) {
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

    const body = new FormData();
    body.append('file', file);
    const xhr = new XMLHttpRequest();
    request.current = xhr;
    setState({ kind: 'uploading', name: file.name, loaded: 0, total: file.size });
    xhr.upload.addEventListener('progress', (progress) => {
      if (progress.lengthComputable) {
        setState({ kind: 'uploading', name: file.name, loaded: progress.loaded, total: progress.total });
      }
    });
    xhr.addEventListener('load', () => {
      request.current = null;
      if (xhr.status === 201) {
        setState({ kind: 'done', name: file.name, size: file.size });
        form.current?.reset();
        router.refresh();
        return;
      }
      // The kit's errors are one line of text/plain, written for the person who sent the request.
      const reason = xhr.responseText.trim() || xhr.statusText;
      setState({ kind: 'error', message: `The server refused the upload (${xhr.status}): ${reason}` });
    });
    xhr.addEventListener('error', () => {
      request.current = null;
      setState({ kind: 'error', message: 'The upload did not complete: the connection failed. Try again.' });
    });
    xhr.addEventListener('abort', () => {
      request.current = null;
      setState({ kind: 'idle' });
    });
    xhr.open('POST', '/api/files');
    xhr.send(body);
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
          Up to {limit} per file (<code>MAX_UPLOAD_BYTES</code>). Stored under <code>uploads/</code> in the files storage.
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
