import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpError } from '../errors';
import { rejection } from '../storage/storage-contract';
import {
  CredentialsCache,
  fromContainerCredentials,
  fromEnvironment,
  fromInstanceMetadata,
  fromWebIdentity,
  type S3ProvidedCredentials,
} from './credentials';
import type { S3StorageOptions } from './s3-storage';

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
  servers = [];
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local server that plays a credentials source; every request it gets is recorded. */
async function playing(handler: (request: Seen, response: ServerResponse) => void): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const entry = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body };
      seen.push(entry);
      handler(entry, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function tempFile(content: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ndv-cred-')), 'token');
  writeFileSync(file, content);
  return file;
}

const inAnHour = () => new Date(Date.now() + 3_600_000);

describe('CredentialsCache', () => {
  it('keeps static credentials and never calls anything', async () => {
    const cache = new CredentialsCache({ accessKeyId: 'a', secretAccessKey: 's' });
    expect(await cache.get()).toEqual({ accessKeyId: 'a', secretAccessKey: 's' });
    expect(cache.peek()).toEqual({ accessKeyId: 'a', secretAccessKey: 's' });
  });

  it('calls the provider once for many concurrent requests, and not again while the credentials are fresh', async () => {
    const provider = vi.fn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { accessKeyId: 'a', secretAccessKey: 's', sessionToken: 't', expiration: inAnHour() };
    });
    const cache = new CredentialsCache(provider);
    expect(cache.peek()).toBeUndefined();
    const all = await Promise.all(Array.from({ length: 50 }, () => cache.get()));
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['a']));
    for (let i = 0; i < 20; i++) await cache.get();
    expect(provider).toHaveBeenCalledTimes(1);
    expect(cache.peek()?.sessionToken).toBe('t');
  });

  it('refreshes shortly before expiry: at three quarters of a short lifetime', async () => {
    let n = 0;
    const provider = vi.fn(async () => ({ accessKeyId: `key-${++n}`, secretAccessKey: 's', expiration: new Date(Date.now() + 800) }));
    const cache = new CredentialsCache(provider);
    expect((await cache.get()).accessKeyId).toBe('key-1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await cache.get()).accessKeyId).toBe('key-1');
    await new Promise((resolve) => setTimeout(resolve, 400));
    const [first, second] = await Promise.all([cache.get(), cache.get()]);
    expect([first.accessKeyId, second.accessKeyId]).toEqual(['key-2', 'key-2']);
    expect(provider).toHaveBeenCalledTimes(2);
  });

  it('keeps using credentials that still work when a refresh fails, and retries no sooner than a second later', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    let fail = false;
    const provider = vi.fn(async () => {
      if (fail) throw new Error('endpoint down');
      return { accessKeyId: 'a', secretAccessKey: 's', expiration: new Date(Date.now() + 2_000) };
    });
    const cache = new CredentialsCache(provider);
    await cache.get();
    fail = true;
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect((await cache.get()).accessKeyId).toBe('a');
    expect((await cache.get()).accessKeyId).toBe('a');
    expect(provider).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/endpoint down/));
    warn.mockRestore();
  });

  it('is a 503 naming the cause when there are no working credentials, without calling the provider per request', async () => {
    const provider = vi.fn(async (): Promise<S3ProvidedCredentials> => {
      throw new Error('nothing configured');
    });
    const cache = new CredentialsCache(provider);
    const error = await rejection<HttpError>(cache.get());
    expect(error).toBeInstanceOf(HttpError);
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/nothing configured/);
    await rejection(cache.get());
    await rejection(cache.get());
    expect(provider).toHaveBeenCalledTimes(1);
  });

  it('refuses what is not credentials: no key, an expiration that is not a Date, one already past', async () => {
    for (const given of [
      { accessKeyId: '', secretAccessKey: 's' },
      { accessKeyId: 'a', secretAccessKey: 's', expiration: '2030-01-01T00:00:00Z' },
      { accessKeyId: 'a', secretAccessKey: 's', expiration: new Date(Date.now() - 1000) },
    ]) {
      const error = await rejection<HttpError>(new CredentialsCache(async () => given as unknown as S3ProvidedCredentials).get());
      expect(error.status).toBe(503);
    }
  });

  it('takes the provider of @aws-sdk/credential-providers as it is typed', () => {
    // AwsCredentialIdentityProvider, as @smithy/types declares it.
    type SdkProvider = (properties?: Record<string, unknown>) => Promise<{
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken?: string;
      credentialScope?: string;
      accountId?: string;
      expiration?: Date;
    }>;
    const sdk: SdkProvider = async () => ({ accessKeyId: 'a', secretAccessKey: 's', expiration: inAnHour() });
    const credentials: S3StorageOptions['credentials'] = sdk;
    expect(typeof credentials).toBe('function');
  });
});

describe('fromContainerCredentials', () => {
  const answer = { AccessKeyId: 'ASIA1', SecretAccessKey: 'secret1', Token: 'token1', Expiration: '2099-01-01T00:00:00Z' };

  it('reads AWS_CONTAINER_CREDENTIALS_FULL_URI with the token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, read at every call', async () => {
    const { base, seen } = await playing((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    });
    const tokenFile = tempFile('first-token\n');
    const provider = fromContainerCredentials({ env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${base}/creds?x=1`, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile } });
    expect(await provider()).toEqual({ accessKeyId: 'ASIA1', secretAccessKey: 'secret1', sessionToken: 'token1', expiration: new Date('2099-01-01T00:00:00Z') });
    writeFileSync(tokenFile, 'second-token');
    await provider();
    expect(seen.map((s) => [s.method, s.url, s.headers.authorization])).toEqual([
      ['GET', '/creds?x=1', 'first-token'],
      ['GET', '/creds?x=1', 'second-token'],
    ]);
  });

  it('sends AWS_CONTAINER_AUTHORIZATION_TOKEN when there is no token file', async () => {
    const { base, seen } = await playing((_, response) => response.end(JSON.stringify(answer)));
    await fromContainerCredentials({ env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: base, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'Basic abc' } })();
    expect(seen[0]!.headers.authorization).toBe('Basic abc');
  });

  it('puts AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on the ECS address', async () => {
    const asked: string[] = [];
    const provider = fromContainerCredentials({
      env: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc' },
      fetch: async (input) => {
        asked.push(String(input));
        return new Response(JSON.stringify(answer));
      },
    });
    await provider();
    expect(asked).toEqual(['http://169.254.170.2/v2/credentials/abc']);
  });

  it('refuses plain http to a host that is not a loopback or the ECS/EKS address', async () => {
    const error = await rejection<HttpError>(fromContainerCredentials({ env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://example.com/creds' } })());
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/https, or http to a loopback/);
  });

  it('is a 503 saying what went wrong for an error status, a non-JSON answer or no answer', async () => {
    const { base } = await playing((request, response) => {
      if (request.url === '/500') response.writeHead(500).end();
      else if (request.url === '/html') response.end('<html>');
      else setTimeout(() => response.end(JSON.stringify(answer)), 1_000);
    });
    const at = (p: string) => fromContainerCredentials({ env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: base + p }, timeoutMs: 200 })();
    expect((await rejection<HttpError>(at('/500'))).message).toMatch(/answered 500/);
    expect((await rejection<HttpError>(at('/html'))).message).toMatch(/not JSON/);
    expect((await rejection<HttpError>(at('/slow'))).message).toMatch(/no answer within 200 ms/);
  });
});

describe('fromWebIdentity', () => {
  const stsAnswer = (id: string) => `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <SessionToken>session&amp;token</SessionToken>
      <SecretAccessKey>secret-${id}</SecretAccessKey>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
      <AccessKeyId>${id}</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>`;

  it('calls AssumeRoleWithWebIdentity at AWS_ENDPOINT_URL_STS with the token file, role and session name', async () => {
    const { base, seen } = await playing((_, response) => {
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(stsAnswer('ASIA2'));
    });
    const provider = fromWebIdentity({
      env: { AWS_WEB_IDENTITY_TOKEN_FILE: tempFile('eyJ.jwt.token\n'), AWS_ROLE_ARN: 'arn:aws:iam::123:role/app', AWS_ROLE_SESSION_NAME: 'pod-1', AWS_ENDPOINT_URL_STS: base },
    });
    expect(await provider()).toEqual({ accessKeyId: 'ASIA2', secretAccessKey: 'secret-ASIA2', sessionToken: 'session&token', expiration: new Date('2099-01-01T00:00:00Z') });
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(seen[0]!.body))).toEqual({
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: 'arn:aws:iam::123:role/app',
      RoleSessionName: 'pod-1',
      WebIdentityToken: 'eyJ.jwt.token',
    });
  });

  it('is a 503 with STS error code when the role is refused', async () => {
    const { base } = await playing((_, response) => {
      response.writeHead(403);
      response.end('<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>');
    });
    const provider = fromWebIdentity({ env: { AWS_WEB_IDENTITY_TOKEN_FILE: tempFile('t'), AWS_ROLE_ARN: 'arn', AWS_ENDPOINT_URL_STS: base } });
    expect((await rejection<HttpError>(provider())).message).toMatch(/403 AccessDenied/);
  });

  it('names the variables it needs', async () => {
    expect((await rejection<HttpError>(fromWebIdentity({ env: {} })())).message).toMatch(/AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN/);
  });
});

describe('fromInstanceMetadata', () => {
  /** IMDSv2 as EC2 plays it: no session token, no credentials. */
  async function imds() {
    return playing((request, response) => {
      if (request.method === 'PUT' && request.url === '/latest/api/token' && request.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
        response.end('session-token');
      } else if (request.headers['x-aws-ec2-metadata-token'] !== 'session-token') {
        response.writeHead(401).end();
      } else if (request.url === '/latest/meta-data/iam/security-credentials/') {
        response.end('app-role');
      } else if (request.url === '/latest/meta-data/iam/security-credentials/app-role') {
        response.end(JSON.stringify({ Code: 'Success', AccessKeyId: 'ASIA3', SecretAccessKey: 'secret3', Token: 'token3', Expiration: '2099-01-01T00:00:00Z' }));
      } else {
        response.writeHead(404).end();
      }
    });
  }

  it('gets a session token, then the credentials of the instance role', async () => {
    const { base, seen } = await imds();
    const credentials = await fromInstanceMetadata({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: base } })();
    expect(credentials).toEqual({ accessKeyId: 'ASIA3', secretAccessKey: 'secret3', sessionToken: 'token3', expiration: new Date('2099-01-01T00:00:00Z') });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      'GET /latest/meta-data/iam/security-credentials/app-role',
    ]);
  });

  it('is off with AWS_EC2_METADATA_DISABLED=true', async () => {
    const { base, seen } = await imds();
    await rejection(fromInstanceMetadata({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: base, AWS_EC2_METADATA_DISABLED: 'true' } })());
    expect(seen).toEqual([]);
  });
});

describe('fromEnvironment', () => {
  it('takes AWS_ACCESS_KEY_ID first, as set at the call', async () => {
    const env: Record<string, string | undefined> = {};
    const provider = fromEnvironment({ env });
    env.AWS_ACCESS_KEY_ID = 'id';
    env.AWS_SECRET_ACCESS_KEY = 'secret';
    env.AWS_SESSION_TOKEN = 'token';
    expect(await provider()).toEqual({ accessKeyId: 'id', secretAccessKey: 'secret', sessionToken: 'token' });
  });

  it('then a web identity, then the container endpoint, then instance metadata', async () => {
    const { base, seen } = await playing((request, response) => {
      if (request.url === '/sts') response.end('<Credentials><AccessKeyId>web</AccessKeyId><SecretAccessKey>s</SecretAccessKey></Credentials>');
      else if (request.url === '/container') response.end(JSON.stringify({ AccessKeyId: 'container', SecretAccessKey: 's' }));
      else if (request.url === '/latest/api/token') response.end('t');
      else if (request.url === '/latest/meta-data/iam/security-credentials/') response.end('role');
      else response.end(JSON.stringify({ AccessKeyId: 'instance', SecretAccessKey: 's' }));
    });
    const web = { AWS_WEB_IDENTITY_TOKEN_FILE: tempFile('jwt'), AWS_ROLE_ARN: 'arn', AWS_ENDPOINT_URL_STS: `${base}/sts` };
    const container = { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${base}/container` };
    const instance = { AWS_EC2_METADATA_SERVICE_ENDPOINT: base };
    expect((await fromEnvironment({ env: { ...web, ...container, ...instance } })()).accessKeyId).toBe('web');
    expect((await fromEnvironment({ env: { ...container, ...instance } })()).accessKeyId).toBe('container');
    expect((await fromEnvironment({ env: instance })()).accessKeyId).toBe('instance');
    expect(seen.length).toBe(5);
  });

  it('names every variable that would give credentials when none does', async () => {
    const error = await rejection<HttpError>(fromEnvironment({ env: { AWS_EC2_METADATA_DISABLED: 'true' } })());
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, or AWS_CONTAINER_CREDENTIALS_FULL_URI/);
  });
});
