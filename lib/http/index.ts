/**
 * `next-downloadview/http`: the pure HTTP helpers the engine is built from (dates, entity tags,
 * preconditions, ranges, Content-Disposition, content types, multipart, Accept-Encoding, RFC 9530
 * digests), each a function of strings and header values, and bounded readers of small request bodies (413 past the bound).
 *
 * @module
 */
export { formatHttpDate, parseHttpDate } from './http-date';
export {
  fileEntityTag,
  formatEntityTag,
  parseEntityTag,
  parseEntityTagList,
  strongCompare,
  toEntityTag,
  weakCompare,
  type EntityTag,
} from './etag';
export { evaluatePreconditions, type Precondition, type Validators } from './conditional';
export {
  DEFAULT_RANGE_LIMITS,
  ifRangeMatches,
  parseRange,
  type ByteRange,
  type RangeLimits,
  type RangeRequest,
} from './range';
export { asciiFallback, contentDispositionHeader, MAX_FILENAME_BYTES, safeBasename, truncateFilename } from './disposition';
export { isActiveContentType, resolveContentType } from './content-type';
export { planMultipart, type MultipartPlan } from './multipart';
export { HttpError } from '../errors';
export { errorResponse, withErrorResponses } from './http-error';
export { isNextControlFlow } from '../errors';
export { readBody, readJson, readText, declaredLength, DEFAULT_MAX_BODY_BYTES, type ReadBodyOptions } from './read-body';
export { selectEncoding } from './accept-encoding';
export {
  digestFromHex,
  formatDigestField,
  isDigestValue,
  parseDigestField,
  parseWantDigest,
  selectDigests,
  type DigestAlgorithm,
  type Digests,
} from './digest';
