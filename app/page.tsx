import type { StoredFile } from 'next-downloadview/storage';
import { ExportsSection } from './_components/exports-section';
import { FilesSection } from './_components/files-section';
import { MediaSection, playableMedia } from './_components/media-section';
import { RemoteSection } from './_components/remote-section';
import { SignedSection } from './_components/signed-section';
import { filesStorage, maxUploadBytes, media, upstreamUrl } from './_lib/demo';
import { downloadsByFile } from './_lib/downloads';
import { iterateFiles, newestFiles } from './_lib/files';
import { zipSource } from 'next-downloadview/zip';
import { fileEntries } from './_lib/zip';

export const dynamic = 'force-dynamic';

/** Most media files the page lists: a folder of 100,000 files must not become a 100 MB page. */
const MEDIA_LIST_LIMIT = 500;

/** The first MEDIA_LIST_LIMIT files the walk finds (leaving the loop stops the walk), sorted. */
async function listMediaFolder(): Promise<{ entries: StoredFile[]; truncated: boolean }> {
  const entries: StoredFile[] = [];
  let truncated = false;
  for await (const entry of media.list()) {
    if (entries.length === MEDIA_LIST_LIMIT) {
      truncated = true;
      break;
    }
    entries.push(entry);
  }
  return { entries: withoutPrecompressedSiblings(entries).sort((a, b) => a.name.localeCompare(b.name)), truncated };
}

/**
 * A `name.br` or `name.gz` beside `name` is one of that file's representations (the routes send it
 * to clients that accept the encoding), not a file of its own to list.
 */
function withoutPrecompressedSiblings(entries: StoredFile[]): StoredFile[] {
  const names = new Set(entries.map((entry) => entry.name));
  return entries.filter((entry) => !/\.(br|gz)$/.test(entry.name) || !names.has(entry.name.replace(/\.(br|gz)$/, '')));
}

/**
 * Files the Remote section links to: a few, the samples first, then the audio and video the Media
 * section already plays, then uploads (whose names are ids).
 */
function remoteExamples(entries: StoredFile[]): string[] {
  const played = new Set(playableMedia(entries).map(({ entry }) => entry.name));
  const rank = (name: string) => (name.startsWith('uploads/') ? 2 : played.has(name) ? 1 : 0);
  const names = entries.map((entry) => entry.name);
  return [0, 1, 2].flatMap((wanted) => names.filter((name) => rank(name) === wanted)).slice(0, 5);
}

export default async function Home() {
  const [{ rows, total }, { entries, truncated }] = await Promise.all([newestFiles(), listMediaFolder()]);
  const downloads = await downloadsByFile(rows.map((row) => row.id));
  // The export's exact length, from the rows alone (nothing is read or stat'ed).
  const zipSize = (await zipSource(fileEntries(iterateFiles()), { storage: filesStorage })).size ?? 0;
  return (
    <>
      <div className="hero">
        <h1>next-downloadview</h1>
        <p className="lead">
          Route-handler factories for file downloads in the Next.js App Router. Every link below is served by one of
          them, with a length, an ETag and resumable ranges; each section shows the route behind it.
        </p>
      </div>
      <FilesSection rows={rows} total={total} maxBytes={maxUploadBytes()} downloads={downloads} />
      <ExportsSection fileCount={total} zipSize={zipSize} />
      <MediaSection entries={entries} truncated={truncated} />
      <RemoteSection upstream={upstreamUrl()} names={remoteExamples(entries)} />
      <SignedSection names={entries.map((entry) => entry.name)} />
    </>
  );
}
