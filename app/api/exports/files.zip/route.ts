import { zipDownload } from 'next-downloadview/zip';
import { filesStorage, filesStorageReady } from '@/app/_lib/demo';
import { iterateFiles } from '@/app/_lib/files';
import { fileEntries } from '@/app/_lib/zip';

/**
 * Every stored file as one ZIP (the package's zipDownload), built as it is sent: files are opened
 * one at a time, so the first bytes go out before the last file is read and memory does not grow
 * with the archive. The length is exact (entries are stored, not compressed), so the browser
 * shows progress, and an interrupted download resumes: with the CRC-32 each upload stores beside
 * its SHA-256, a resume reads only the files (and the part of a file) it still needs.
 *
 * Every file is checked (stat, size) before the status is decided, for HEAD as for GET: a file
 * missing from the storage is a 502 and a store that does not answer a 504, before the first byte,
 * instead of an archive that ends short. A file that goes away once the bytes have started still
 * breaks the connection (the Content-Length is not met), and the log names its row.
 */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = zipDownload({
  filename: 'files.zip',
  storage: filesStorage,
  check: true,
  entries: async () => {
    await filesStorageReady();
    return fileEntries(iterateFiles());
  },
});
