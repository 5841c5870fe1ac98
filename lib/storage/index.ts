/**
 * `next-downloadview/storage`: where files are kept, by name. `Storage` is the contract
 * `storageDownload`, `objectDownload` and `receiveUpload` use; `FileSystemStorage` keeps files
 * in a folder on disk.
 *
 * @example
 * import { FileSystemStorage } from 'next-downloadview/storage';
 * export const media = new FileSystemStorage(process.env.MEDIA_ROOT!);
 *
 * @module
 */
export type { Storage, StoredFile, OpenOptions, SaveContent, SaveOptions } from './storage';
// What redirect delivery (`delivery: 'redirect'`) needs of a storage.
export { DEFAULT_REDIRECT_EXPIRES_IN, type RedirectingStorage, type RedirectUrlOptions } from './storage';
export { NotFoundError } from '../errors';
export { FileSystemStorage, type FileSystemStorageOptions } from './file-system-storage';
