/**
 * `next-downloadview/upload`: a multipart upload streamed into a `Storage`, size-limited and
 * hashed on the way.
 *
 * @module
 */
export { receiveUpload, type ReceiveUploadOptions, type ReceivedUpload } from './receive-upload';
