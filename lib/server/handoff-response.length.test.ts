import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enableHandoff, ENCODING_HEADER, LENGTH_HEADER, signedEncoding, signedLength, verifiedEncoding, verifiedLength } from '../engine/handoff';
import { HandoffResponse } from './handoff-response';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The connection broke before the body ended. */
  aborted: boolean;
}

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Serves one handler with `HandoffResponse`s, as the kit's server does, and asks it once. */
async function ask(
  handler: (res: import('node:http').ServerResponse) => void,
  method = 'GET',
): Promise<Reply> {
  server = createServer({ ServerResponse: HandoffResponse }, (_req, res) => handler(res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path: '/', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), aborted: aborted || !res.complete }));
    });
    // A connection broken before any response came back is a broken body too.
    req.on('error', () => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), aborted: true }));

    req.end();
  });
}

describe('signedLength', () => {
  it('gives nothing until a kit server enabled it in this process', () => {
    // The token lives on globalThis under a registered symbol; without it nothing is signed.
    const key = Symbol.for('next-downloadview.handoff-token');
    const saved = (globalThis as Record<symbol, unknown>)[key];
    delete (globalThis as Record<symbol, unknown>)[key];
    try {
      expect(signedLength(10)).toBeUndefined();
      expect(verifiedLength('10.AAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
    } finally {
      if (saved) (globalThis as Record<symbol, unknown>)[key] = saved;
    }
  });
});

describe('with the hand-off enabled', () => {
  beforeAll(() => enableHandoff());

  describe('signedLength and verifiedLength', () => {
    it.each([0, 1, 4096, 1024 ** 3, Number.MAX_SAFE_INTEGER])('round-trips %d', (length) => {
      expect(verifiedLength(signedLength(length))).toBe(length);
    });

    it.each([-1, 1.5, NaN, Infinity])('signs no length for %d', (length) => {
      expect(signedLength(length)).toBeUndefined();
    });

    it('refuses a value whose length was changed', () => {
      const signed = signedLength(100)!;
      expect(verifiedLength(signed.replace(/^100/, '999'))).toBeUndefined();
    });

    it('refuses a forged MAC for a length it signed before (remembered values are compared whole)', () => {
      const signed = signedLength(4096)!;
      expect(signedLength(4096)).toBe(signed);
      const last = signed.at(-1) === 'A' ? 'B' : 'A';
      expect(verifiedLength(signed.slice(0, -1) + last)).toBeUndefined();
      expect(verifiedLength('4096.AAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
      expect(verifiedLength(signed)).toBe(4096);
    });

    it('still verifies a value after the remembered ones were dropped (more lengths than it keeps)', () => {
      const first = signedLength(7_000_001)!;
      for (let length = 8_000_000; length < 8_000_000 + 5000; length++) signedLength(length);
      expect(verifiedLength(first)).toBe(7_000_001);
      expect(verifiedLength(first.replace(/^7000001/, '7000002'))).toBeUndefined();
    });

    it.each(['100', '100.', '100.xyz', ' 100.AAAAAAAAAAAAAAAAAAAAAA', '0100.AAAAAAAAAAAAAAAAAAAAAA', '', undefined, 100])(
      'refuses the forged or malformed value %j',
      (value) => {
        expect(verifiedLength(value)).toBeUndefined();
      },
    );
  });

  describe('HandoffResponse: the length', () => {
    it('turns a signed private header into Content-Length and drops the private header', async () => {
      const reply = await ask((res) => {
        res.setHeader(LENGTH_HEADER, signedLength(11)!);
        res.end('hello world');
      });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-length']).toBe('11');
      expect(reply.headers[LENGTH_HEADER]).toBeUndefined();
      expect(reply.headers['transfer-encoding']).toBeUndefined();
      expect(reply.body.toString()).toBe('hello world');
      expect(reply.aborted).toBe(false);
    });

    it('works when the header is appended rather than set, as Next does', async () => {
      const reply = await ask((res) => {
        res.appendHeader(LENGTH_HEADER, signedLength(5)!);
        res.write('he');
        res.end('llo');
      });
      expect(reply.headers['content-length']).toBe('5');
      expect(reply.body.toString()).toBe('hello');
    });

    it('sends no Content-Length for a forged private header, and never the header itself', async () => {
      const reply = await ask((res) => {
        res.setHeader(LENGTH_HEADER, '999.AAAAAAAAAAAAAAAAAAAAAA');
        res.write('sho');
        res.end('rt');
      });
      expect(reply.headers['content-length']).toBeUndefined();
      expect(reply.headers[LENGTH_HEADER]).toBeUndefined();
      expect(reply.body.toString()).toBe('short');
    });

    it('keeps the verified length when something else tries to set another', async () => {
      const reply = await ask((res) => {
        res.setHeader(LENGTH_HEADER, signedLength(3)!);
        res.setHeader('Content-Length', '1000');
        res.end('abc');
      });
      expect(reply.headers['content-length']).toBe('3');
      expect(reply.body.toString()).toBe('abc');
    });

    it('breaks the connection when the body comes out shorter than the length', async () => {
      const reply = await ask((res) => {
        res.setHeader(LENGTH_HEADER, signedLength(10)!);
        res.write('12345');
        res.end();
      });
      expect(reply.aborted).toBe(true);
      expect(reply.body.length).toBeLessThan(10);
    });

    it('breaks the connection rather than send more bytes than the length', async () => {
      const reply = await ask((res) => {
        res.setHeader(LENGTH_HEADER, signedLength(4)!);
        res.write('1234');
        res.write('5678');
        res.end();
      });
      expect(reply.aborted).toBe(true);
      expect(reply.body.toString()).not.toContain('5678');
    });

    it('announces the length on HEAD without a body', async () => {
      const reply = await ask((res) => {
        res.setHeader(LENGTH_HEADER, signedLength(123)!);
        res.end();
      }, 'HEAD');
      expect(reply.status).toBe(200);
      expect(reply.headers['content-length']).toBe('123');
      expect(reply.aborted).toBe(false);
    });

    it('leaves responses without the private header alone', async () => {
      const reply = await ask((res) => {
        res.setHeader('Content-Type', 'text/plain');
        res.write('streamed ');
        res.end('without a length');
      });
      expect(reply.headers['content-length']).toBeUndefined();
      expect(reply.body.toString()).toBe('streamed without a length');
      expect(reply.aborted).toBe(false);
    });
  });
});

describe('HandoffResponse: a stored Content-Encoding (Next 16 drops it too)', () => {
  beforeAll(() => enableHandoff());

  it('turns a signed coding header into Content-Encoding, on GET and HEAD, and never sends the private header', async () => {
    for (const method of ['GET', 'HEAD']) {
      const reply = await ask((res) => {
        res.setHeader(ENCODING_HEADER, [signedEncoding('gzip')!]);
        res.setHeader(LENGTH_HEADER, [signedLength(3)!]);
        res.end(method === 'HEAD' ? undefined : 'abc');
      }, method);
      expect(reply.headers['content-encoding']).toBe('gzip');
      expect(reply.headers['content-length']).toBe('3');
      expect(reply.headers[ENCODING_HEADER]).toBeUndefined();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;
    }
  });

  it.each([
    ['a coding that was not signed', 'gzip/AAAAAAAAAAAAAAAAAAAAAA'],
    ['a signed length passed off as a coding', () => signedLength(10)!.replace('.', '/')],
    ['another coding under the signature of gzip', () => `br/${signedEncoding('gzip')!.split('/')[1]}`],
    ['no signature', 'gzip'],
  ])('drops %s', async (_, value) => {
    const header = typeof value === 'function' ? value() : value;
    expect(verifiedEncoding(header)).toBeUndefined();
    const reply = await ask((res) => {
      res.setHeader(ENCODING_HEADER, header);
      res.end('abc');
    });
    expect(reply.headers['content-encoding']).toBeUndefined();
    expect(reply.headers[ENCODING_HEADER]).toBeUndefined();
  });

  it('signs codings only: a value that is not a list of tokens is not signed', () => {
    expect(verifiedEncoding(signedEncoding('gzip, br'))).toBe('gzip, br');
    expect(signedEncoding('gzip\r\nx-evil: 1')).toBeUndefined();
    expect(signedEncoding('')).toBeUndefined();
  });
});
