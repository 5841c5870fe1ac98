/**
 * next-downloadview/s3: files in S3 or any server that speaks its API (MinIO, R2, Wasabi, ...).
 * No S3 client library: requests are signed with AWS Signature Version 4 on node:crypto and
 * sent with fetch.
 *
 * @example
 * import { storageDownload } from 'next-downloadview';
 * import { S3Storage } from 'next-downloadview/s3';
 * const bucket = S3Storage.fromUrl('s3://my-bucket/files/');   // AWS_* variables for the rest
 * export const { GET, HEAD } = storageDownload({ storage: bucket, delivery: 'redirect' });
 *
 * @module
 */
export { S3Storage, type PresignOptions, type PresignPutOptions, type PresignedPut, type PresignPostOptions, type PresignedPost, type S3StorageOptions, type S3StoredFile } from './s3-storage';
export { presignUrl, signHeaders, type S3Credentials, type SignInput } from './sigv4';
export {
  fromContainerCredentials,
  fromEnvironment,
  fromInstanceMetadata,
  fromWebIdentity,
  type CredentialSourceOptions,
  type S3CredentialsProvider,
  type S3ProvidedCredentials,
} from './credentials';
