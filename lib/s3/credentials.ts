import { readFile } from 'node:fs/promises';
import { HttpError } from '../errors';
import type { S3Credentials } from './sigv4';
import { text } from './xml';

/**
 * Credentials as a provider gives them: `expiration` is when they stop working (temporary
 * credentials of a role); without it they are kept for good. The shape of what
 * `fromNodeProviderChain()` of `@aws-sdk/credential-providers` resolves to.
 */
export interface S3ProvidedCredentials extends S3Credentials {
  expiration?: Date;
}

/**
 * Where credentials come from when they change: called when they are first needed and again
 * shortly before they expire, one call at a time however many requests wait for it.
 * `fromEnvironment()` (the standard AWS chain), `fromContainerCredentials()`, `fromWebIdentity()`,
 * `fromInstanceMetadata()`, or `fromNodeProviderChain()` of `@aws-sdk/credential-providers`.
 */
export type S3CredentialsProvider = () => Promise<S3ProvidedCredentials>;

/** Options of the credential sources that ask a server: the fetch to use and how long to wait. */
export interface CredentialSourceOptions {
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Milliseconds one answer may take. Default 5 000 (instance metadata: 1 000). */
  timeoutMs?: number;
  /** The variables to read. Default `process.env`, read when credentials are first asked for. */
  env?: Record<string, string | undefined>;
}

/** Refreshed at most this long before they expire (AWS's SDKs use the same five minutes). */
const REFRESH_BEFORE_MS = 5 * 60_000;
/** After a failed refresh, the provider is not called again for this long. */
const RETRY_AFTER_MS = 1_000;

/**
 * Credentials kept between requests: a static set as is, a provider's until shortly before they
 * expire (five minutes, or a quarter of their lifetime when that is shorter), then one call of
 * the provider shared by every request that needs them. A refresh that fails while the old
 * credentials still work keeps using them; without working credentials the request is a 503
 * (logged with the provider's message), and the provider is not asked again for a second.
 */
export class CredentialsCache {
  readonly #provider: S3CredentialsProvider | undefined;
  #current: { credentials: S3ProvidedCredentials; refreshAt: number; expiresAt: number } | undefined;
  #pending: Promise<S3ProvidedCredentials> | undefined;
  #failure: { error: HttpError; until: number } | undefined;

  constructor(source: S3Credentials | S3CredentialsProvider) {
    if (typeof source === 'function') {
      this.#provider = source;
    } else {
      this.#current = { credentials: source, refreshAt: Infinity, expiresAt: Infinity };
    }
  }

  /** Credentials that work now, from the cache or a (shared) call of the provider. */
  async get(): Promise<S3ProvidedCredentials> {
    const now = Date.now();
    const current = this.#current;
    if (current && now < current.refreshAt) return current.credentials;
    const usable = current && now < current.expiresAt ? current.credentials : undefined;
    if (this.#failure && now < this.#failure.until) {
      if (usable) return usable;
      throw this.#failure.error;
    }
    this.#pending ??= this.#refresh().finally(() => {
      this.#pending = undefined;
    });
    try {
      return await this.#pending;
    } catch (error) {
      if (usable && Date.now() < current!.expiresAt) {
        console.warn(`S3Storage: could not refresh the credentials, using the current ones until they expire: ${(error as Error).message}`);
        return usable;
      }
      throw error;
    }
  }

  /** The cached credentials if they work now (for a URL that must be signed synchronously). */
  peek(): S3ProvidedCredentials | undefined {
    const current = this.#current;
    return current && Date.now() < current.expiresAt ? current.credentials : undefined;
  }

  async #refresh(): Promise<S3ProvidedCredentials> {
    const obtainedAt = Date.now();
    let credentials: S3ProvidedCredentials;
    try {
      credentials = checkProvided(await this.#provider!());
    } catch (error) {
      const failure =
        error instanceof HttpError ? error : new HttpError(503, `S3Storage: no credentials: ${error instanceof Error ? error.message : String(error)}`);
      this.#failure = { error: failure, until: Date.now() + RETRY_AFTER_MS };
      throw failure;
    }
    this.#failure = undefined;
    const expiresAt = credentials.expiration?.getTime() ?? Infinity;
    const lifetime = expiresAt - obtainedAt;
    this.#current = { credentials, expiresAt, refreshAt: expiresAt - Math.min(REFRESH_BEFORE_MS, Math.max(0, lifetime) / 4) };
    return credentials;
  }
}

function checkProvided(value: S3ProvidedCredentials): S3ProvidedCredentials {
  if (!value || typeof value.accessKeyId !== 'string' || value.accessKeyId === '' || typeof value.secretAccessKey !== 'string' || value.secretAccessKey === '') {
    throw new HttpError(503, 'S3Storage: the credentials provider gave no accessKeyId and secretAccessKey');
  }
  if (value.expiration !== undefined && !(value.expiration instanceof Date && !Number.isNaN(value.expiration.getTime()))) {
    throw new HttpError(503, 'S3Storage: the credentials provider gave an expiration that is not a Date');
  }
  if (value.expiration && value.expiration.getTime() <= Date.now()) {
    throw new HttpError(503, 'S3Storage: the credentials provider gave credentials that have already expired');
  }
  return { accessKeyId: value.accessKeyId, secretAccessKey: value.secretAccessKey, sessionToken: value.sessionToken || undefined, expiration: value.expiration };
}

/** A fetch under a timeout, its answer as text of at most 64 KiB. */
async function fetchText(
  options: CredentialSourceOptions,
  defaultTimeoutMs: number,
  label: string,
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: string }> {
  const ms = options.timeoutMs ?? defaultTimeoutMs;
  const doFetch = options.fetch ?? ((input, requestInit) => fetch(input, requestInit));
  let response: Response;
  try {
    response = await doFetch(url, { ...init, signal: AbortSignal.timeout(ms), redirect: 'manual', cache: 'no-store' });
    const body = await response.text();
    if (body.length > 64 * 1024) throw new Error('answer too large');
    return { status: response.status, body };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${ms} ms` : (cause ?? (error as Error).message);
    throw new HttpError(503, `S3Storage: ${label} ${url}: ${reason}`);
  }
}

/** `{ AccessKeyId, SecretAccessKey, Token, Expiration }`, the JSON of the container and instance endpoints. */
function fromJson(body: string, label: string): S3ProvidedCredentials {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new HttpError(503, `S3Storage: ${label} answered something that is not JSON`);
  }
  const { AccessKeyId, SecretAccessKey, Token, Expiration } = value ?? {};
  if (typeof AccessKeyId !== 'string' || typeof SecretAccessKey !== 'string') {
    throw new HttpError(503, `S3Storage: ${label} answered without AccessKeyId and SecretAccessKey`);
  }
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    sessionToken: typeof Token === 'string' ? Token : undefined,
    expiration: typeof Expiration === 'string' ? new Date(Expiration) : undefined,
  };
}

/** Hosts a container credentials URL may name over plain http (what AWS's SDKs allow). */
function allowedHttpHost(hostname: string): boolean {
  return (
    /^127(\.\d{1,3}){3}$/.test(hostname) ||
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    hostname === '169.254.170.2' ||
    hostname === '169.254.170.23' ||
    hostname === '[fd00:ec2::23]'
  );
}

/**
 * Credentials of an ECS task role or an EKS Pod Identity: the container credentials endpoint
 * named by `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https, or http to a loopback or the ECS/EKS
 * link-local address) or `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `http://169.254.170.2`),
 * with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at every call: EKS rotates it) or
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN` as its Authorization header.
 *
 * @example
 * new S3Storage({ bucket: 'uploads', credentials: fromContainerCredentials() });
 */
export function fromContainerCredentials(options: CredentialSourceOptions = {}): S3CredentialsProvider {
  return async () => {
    const env = options.env ?? process.env;
    const full = env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
    const relative = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
    let url: URL;
    try {
      url = relative ? new URL(relative, 'http://169.254.170.2') : new URL(full ?? '');
    } catch {
      throw new HttpError(503, 'S3Storage: AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL');
    }
    if (!relative && !(url.protocol === 'https:' || (url.protocol === 'http:' && allowedHttpHost(url.hostname)))) {
      throw new HttpError(503, 'S3Storage: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback address');
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    let token = env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
    if (env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) {
      try {
        token = (await readFile(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'utf8')).trim();
      } catch (error) {
        throw new HttpError(503, `S3Storage: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
    }
    if (token) {
      if (/[\r\n]/.test(token)) throw new HttpError(503, 'S3Storage: the container authorization token holds a line break');
      headers.authorization = token;
    }
    const { status, body } = await fetchText(options, 5_000, 'container credentials endpoint', url.href, { headers });
    if (status !== 200) throw new HttpError(503, `S3Storage: container credentials endpoint ${url.href} answered ${status}`);
    return fromJson(body, 'the container credentials endpoint');
  };
}

/**
 * Credentials of a role assumed with a web identity token (EKS IAM roles for service accounts):
 * STS `AssumeRoleWithWebIdentity` with the token of `AWS_WEB_IDENTITY_TOKEN_FILE` (read at every
 * call), `AWS_ROLE_ARN` and `AWS_ROLE_SESSION_NAME`, at `AWS_ENDPOINT_URL_STS` or
 * `https://sts.<AWS_REGION>.amazonaws.com` (the call is not signed: the token is the proof).
 *
 * @example
 * new S3Storage({ bucket: 'uploads', credentials: fromWebIdentity() });
 */
export function fromWebIdentity(options: CredentialSourceOptions = {}): S3CredentialsProvider {
  return async () => {
    const env = options.env ?? process.env;
    const tokenFile = env.AWS_WEB_IDENTITY_TOKEN_FILE;
    const roleArn = env.AWS_ROLE_ARN;
    if (!tokenFile || !roleArn) throw new HttpError(503, 'S3Storage: web identity needs AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN');
    let token: string;
    try {
      token = (await readFile(tokenFile, 'utf8')).trim();
    } catch (error) {
      throw new HttpError(503, `S3Storage: cannot read AWS_WEB_IDENTITY_TOKEN_FILE: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const endpoint = env.AWS_ENDPOINT_URL_STS ?? `https://sts.${region}.amazonaws.com`;
    const form = new URLSearchParams({
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: roleArn,
      RoleSessionName: env.AWS_ROLE_SESSION_NAME || `next-downloadview-${Date.now()}`,
      WebIdentityToken: token,
    });
    const { status, body } = await fetchText(options, 5_000, 'STS', endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', accept: 'application/xml' },
      body: form.toString(),
    });
    if (status !== 200) throw new HttpError(503, `S3Storage: STS AssumeRoleWithWebIdentity answered ${status} ${text(body, 'Code') ?? ''}`.trim());
    const accessKeyId = text(body, 'AccessKeyId');
    const secretAccessKey = text(body, 'SecretAccessKey');
    const expiration = text(body, 'Expiration');
    if (!accessKeyId || !secretAccessKey) throw new HttpError(503, 'S3Storage: STS AssumeRoleWithWebIdentity answered without credentials');
    return { accessKeyId, secretAccessKey, sessionToken: text(body, 'SessionToken'), expiration: expiration ? new Date(expiration) : undefined };
  };
}

/**
 * Credentials of an EC2 instance profile from the instance metadata service, version 2 (a
 * session token first, then the role's credentials): at `AWS_EC2_METADATA_SERVICE_ENDPOINT`,
 * default `http://169.254.169.254`. `AWS_EC2_METADATA_DISABLED=true` turns it off.
 *
 * @example
 * new S3Storage({ bucket: 'uploads', credentials: fromInstanceMetadata() });
 */
export function fromInstanceMetadata(options: CredentialSourceOptions = {}): S3CredentialsProvider {
  return async () => {
    const env = options.env ?? process.env;
    if (env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === 'true') throw new HttpError(503, 'S3Storage: AWS_EC2_METADATA_DISABLED is set');
    const base = (env.AWS_EC2_METADATA_SERVICE_ENDPOINT || 'http://169.254.169.254').replace(/\/+$/, '');
    const label = 'instance metadata';
    const session = await fetchText(options, 1_000, label, `${base}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' },
    });
    if (session.status !== 200 || session.body === '') throw new HttpError(503, `S3Storage: instance metadata answered ${session.status} for a token`);
    const headers = { 'x-aws-ec2-metadata-token': session.body.trim() };
    const roles = await fetchText(options, 1_000, label, `${base}/latest/meta-data/iam/security-credentials/`, { headers });
    const role = roles.body.split('\n')[0]?.trim();
    if (roles.status !== 200 || !role) throw new HttpError(503, `S3Storage: instance metadata names no role (${roles.status}): is an instance profile attached?`);
    const answer = await fetchText(options, 1_000, label, `${base}/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`, { headers });
    if (answer.status !== 200) throw new HttpError(503, `S3Storage: instance metadata answered ${answer.status} for role ${role}`);
    return fromJson(answer.body, 'instance metadata');
  };
}

/**
 * The standard AWS chain, chosen by the variables when credentials are first needed:
 * `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), else a web identity
 * (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`), else the container endpoint
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI` or `_RELATIVE_URI`), else instance metadata. Profiles and
 * SSO (`~/.aws/config`, `AWS_PROFILE`) are not read: pass `fromNodeProviderChain()` of
 * `@aws-sdk/credential-providers` as `credentials` for those.
 *
 * @example
 * new S3Storage({ bucket: 'uploads', credentials: fromEnvironment() });
 */
export function fromEnvironment(options: CredentialSourceOptions = {}): S3CredentialsProvider {
  let chosen: S3CredentialsProvider | undefined;
  return async () => {
    const env = options.env ?? process.env;
    if (env.AWS_ACCESS_KEY_ID) {
      if (!env.AWS_SECRET_ACCESS_KEY) throw new HttpError(503, 'S3Storage: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not');
      return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
    }
    if (!chosen) {
      if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) chosen = fromWebIdentity(options);
      else if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) chosen = fromContainerCredentials(options);
      else chosen = fromInstanceMetadata(options);
    }
    try {
      return await chosen();
    } catch (error) {
      if (chosen === undefined || !(error instanceof HttpError)) throw error;
      // The usual cause off AWS: nothing is set. Say which variables would have given credentials.
      if (!(env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)) {
        throw new HttpError(
          503,
          `${error.message} (no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, or AWS_CONTAINER_CREDENTIALS_FULL_URI, or run with an instance profile)`,
        );
      }
      throw error;
    }
  };
}
