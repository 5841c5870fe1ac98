import { virtualDownload } from 'next-downloadview';
import { filesStorage, filesStorageReady } from '@/app/_lib/demo';
import { iterateFiles } from '@/app/_lib/files';
import { makeArchive, zipEntries, zipEtag, zipLastModified, zipLength } from '@/app/_lib/zip';

/**
 * Every stored file as one ZIP, built as it is sent: files are opened one at a time, so the
 * first bytes go out before the last file is read and memory does not grow with the archive.
 * The length is exact (entries are stored, not compressed), so the browser shows progress and
 * an interrupted download resumes.
 */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = virtualDownload({
  file: async () => {
    await filesStorageReady();
    const entries = await zipEntries(iterateFiles());
    return {
      name: 'files.zip',
      contentType: 'application/zip',
      size: zipLength(entries),
      lastModified: zipLastModified(entries),
      etag: zipEtag(entries),
      content: () => makeArchive(entries, filesStorage),
    };
  },
});
