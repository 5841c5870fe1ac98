import type { Source } from '../engine/source';
import { SMALL_BODY_SIZE } from '../streams/file-stream';
import { canRedirect, type Storage, type StoredFile } from '../storage/storage';

/**
 * A file in a storage as a source. `stat` decides the headers; `open` asks the storage for that
 * same version (`ifMatch`), so a file replaced in between is looked up again rather than sent
 * under the old headers.
 */
export async function storageSource(storage: Storage, name: string, known?: StoredFile): Promise<Source> {
  const stored = known ?? (await storage.stat(name));
  return {
    name: stored.name.split('/').pop(),
    size: stored.size,
    lastModified: stored.lastModified,
    etag: stored.etag,
    contentType: stored.contentType,
    digests: stored.digests,
    exact: storage.exactReads === true,
    open: (range) => storage.open(name, { range, ifMatch: stored.etag }),
    openFile: storage.openFile && ((range) => storage.openFile!(name, { range, ifMatch: stored.etag })),
    openRanges: storage.openRanges && ((ranges) => storage.openRanges!(name, ranges, { ifMatch: stored.etag })),
    // Only asked for a body that can be small: a large one skips the lookup it would cost.
    readSmall:
      storage.readSmall &&
      ((range) => {
        const length = range ? range.end - range.start + 1 : stored.size;
        if (length === undefined || length > SMALL_BODY_SIZE) return undefined;
        return storage.readSmall!(name, { range, ifMatch: stored.etag });
      }),
    locate: async () => ({
      path: await storage.localPath?.(name),
      url: storage.url?.(name),
      // A presigned URL answers with the headers the app would have sent with the file.
      redirectUrl: canRedirect(storage)
        ? (headers, expiresIn) =>
            storage.presignedUrl(name, {
              expiresIn,
              contentDisposition: headers.get('content-disposition') ?? undefined,
              contentType: headers.get('content-type') ?? undefined,
              cacheControl: headers.get('cache-control') ?? undefined,
              contentEncoding: headers.get('content-encoding') ?? undefined,
            })
        : undefined,
    }),
  };
}
