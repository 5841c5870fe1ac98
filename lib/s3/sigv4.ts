import { createHash, createHmac } from 'node:crypto';

/** Credentials of an S3 user (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The body is not hashed into the signature (S3 allows this over any transport). */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** The SHA-256 of an empty body, the payload hash of every request without one. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * RFC 3986 percent-encoding as SigV4 wants it: everything but the unreserved characters
 * `A-Z a-z 0-9 - . _ ~`, and `/` too unless `keepSlash` (the path of an S3 key keeps its
 * slashes). encodeURIComponent leaves `!'()*` alone, which SigV4 encodes.
 */
export function uriEncode(value: string, keepSlash = false): string {
  const encoded = encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

/** `20130524T000000Z`: the ISO 8601 basic format SigV4 dates are in. */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** One request to sign with AWS Signature Version 4. */
export interface SignInput {
  method: string;
  url: URL;
  /** Headers to sign besides `host` (lower-case names); `x-amz-*` ones are added here. */
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`. Default: the empty body's. */
  payloadHash?: string;
  region: string;
  credentials: S3Credentials;
  date?: Date;
  service?: string;
}

function canonicalQuery(url: URL): string {
  const pairs = [...url.searchParams].map(([name, value]) => [uriEncode(name), uriEncode(value)] as const);
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
}

/**
 * The string to sign and its signature (AWS Signature Version 4: canonical request, then
 * `AWS4-HMAC-SHA256` + date + scope + its hash, signed with the key derived from the secret).
 * `url.pathname` must already be encoded once (S3 does not encode it twice).
 */
function signature(input: SignInput, date: Date, headers: Record<string, string>, payloadHash: string) {
  const service = input.service ?? 's3';
  const day = amzDate(date).slice(0, 8);
  const scope = `${day}/${input.region}/${service}/aws4_request`;
  const names = Object.keys(headers).map((name) => name.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const canonicalHeaders = names.map((name) => `${name}:${lower[name]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const request = [input.method, input.url.pathname || '/', canonicalQuery(input.url), canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate(date), scope, sha256Hex(request)].join('\n');
  const key = signingKey(input.credentials.secretAccessKey, day, input.region, service);
  return { scope, signedHeaders, signature: createHmac('sha256', key).update(toSign, 'utf8').digest('hex') };
}

/**
 * The signature of a POST policy (SigV4 for browser-based uploads): the base64 policy itself is
 * the string to sign, with the same derived key as a request's.
 */
export function signPolicy(policyBase64: string, secret: string, day: string, region: string, service = 's3'): string {
  return createHmac('sha256', signingKey(secret, day, region, service)).update(policyBase64, 'utf8').digest('hex');
}

/** Headers that make a signed request: the caller's, plus x-amz-date, x-amz-content-sha256 and Authorization. */
export function signHeaders(input: SignInput): Record<string, string> {
  const date = input.date ?? new Date();
  const payloadHash = input.payloadHash ?? EMPTY_SHA256;
  const headers: Record<string, string> = {
    ...input.headers,
    host: input.url.host,
    'x-amz-date': amzDate(date),
    'x-amz-content-sha256': payloadHash,
  };
  if (input.credentials.sessionToken) headers['x-amz-security-token'] = input.credentials.sessionToken;
  const { scope, signedHeaders, signature: signed } = signature(input, date, headers, payloadHash);
  const { host: _host, ...sent } = headers;
  void _host;
  return {
    ...sent,
    authorization: `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signed}`,
  };
}

/**
 * A presigned URL (SigV4 query-string authentication): anyone holding it may make this one
 * request until `expiresIn` seconds after `date`. S3 allows 1 s to 7 days. Only `host` is
 * signed unless `headers` are given, so a browser can follow it with headers of its own (Range,
 * If-None-Match); `headers` (lower-case names) must then be sent with exactly these values,
 * which is how a presigned PUT fixes the length, type and checksum of what may be uploaded.
 */
export function presignUrl(input: Omit<SignInput, 'payloadHash'> & { expiresIn: number }): string {
  if (!Number.isInteger(input.expiresIn) || input.expiresIn < 1 || input.expiresIn > 604_800) {
    throw new RangeError(`presignUrl: expiresIn must be 1..604800 seconds, got ${String(input.expiresIn)}`);
  }
  const date = input.date ?? new Date();
  const service = input.service ?? 's3';
  const url = new URL(input.url);
  const day = amzDate(date).slice(0, 8);
  const signed: Record<string, string> = { ...Object.fromEntries(Object.entries(input.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value])), host: url.host };
  url.searchParams.set('X-Amz-Algorithm', 'AWS4-HMAC-SHA256');
  url.searchParams.set('X-Amz-Credential', `${input.credentials.accessKeyId}/${day}/${input.region}/${service}/aws4_request`);
  url.searchParams.set('X-Amz-Date', amzDate(date));
  url.searchParams.set('X-Amz-Expires', String(input.expiresIn));
  if (input.credentials.sessionToken) url.searchParams.set('X-Amz-Security-Token', input.credentials.sessionToken);
  url.searchParams.set('X-Amz-SignedHeaders', Object.keys(signed).sort().join(';'));
  const { signature: signature_ } = signature({ ...input, url }, date, signed, UNSIGNED_PAYLOAD);
  // Rebuilt with SigV4's own encoding, so the URL holds exactly the query that was signed.
  return `${url.origin}${url.pathname}?${canonicalQuery(url)}&X-Amz-Signature=${signature_}`;
}
