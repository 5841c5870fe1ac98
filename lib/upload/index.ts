/**
 * `next-downloadview/upload`: a multipart upload streamed into a `Storage`, size-limited and
 * hashed on the way, typed by its first bytes.
 *
 * @module
 */
export { receiveUpload, type ReceiveUploadOptions, type ReceivedUpload } from './receive-upload';
export { checkedContentType, SNIFF_BYTES } from './content-type-check';
