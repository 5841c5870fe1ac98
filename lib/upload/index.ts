/**
 * `next-downloadview/upload`: a multipart upload streamed into a `Storage`, size-limited and
 * hashed on the way and typed by its first bytes: `uploadRoute` is a whole `POST` handler,
 * `receiveUpload` the step inside it for a handler of your own (wrap that handler in
 * `withErrorResponses`).
 *
 * @module
 */
export { receiveUpload, type ReceiveUploadOptions, type ReceivedUpload } from './receive-upload';
export { uploadRoute, uploadSummary, type UploadHandlers, type UploadRouteOptions, type UploadSummary } from './upload-route';
export { checkedContentType, SNIFF_BYTES } from './content-type-check';
