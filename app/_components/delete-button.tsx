'use client';

import { useRouter } from 'next/navigation';
import { useId, useRef, useState } from 'react';
import { useHydrated } from './use-hydrated';

/**
 * Delete, after a confirmation in a modal dialog (focus moves into it, Escape cancels, focus
 * comes back to the button). DELETE /api/files/{id} removes the row, then the bytes.
 */
export function DeleteButton({ id, name }: { id: number; name: string }) {
  const router = useRouter();
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const titleId = useId();
  const hydrated = useHydrated();

  async function remove() {
    setBusy(true);
    setError(undefined);
    try {
      const response = await fetch(`/api/files/${id}`, { method: 'DELETE' });
      // 404: someone else deleted it first; the table is out of date either way.
      if (response.status !== 204 && response.status !== 404) {
        setError(`Could not delete (${response.status}): ${(await response.text()).trim()}`);
        return;
      }
      dialog.current?.close();
      // The row (and this button) is about to go: give focus to the section instead of the page.
      document.getElementById('files-heading')?.focus();
      router.refresh();
    } catch {
      setError('Could not delete: the connection failed. Try again.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button
        type="button"
        className="button small danger-text"
        aria-label={`Delete ${name}`}
        disabled={!hydrated}
        onClick={() => {
          setError(undefined);
          dialog.current?.showModal();
        }}
      >
        Delete
      </button>
      <dialog ref={dialog} className="confirm" aria-labelledby={titleId}>
        <h3 id={titleId}>Delete “{name}”?</h3>
        <p>The row goes from the table and the bytes from the media folder. This cannot be undone.</p>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <div className="actions">
          <button type="button" className="button" autoFocus onClick={() => dialog.current?.close()} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="button danger" onClick={() => void remove()} disabled={busy}>
            {busy ? 'Deleting…' : 'Delete'}
          </button>
        </div>
      </dialog>
    </>
  );
}
