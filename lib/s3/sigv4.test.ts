import { describe, expect, it } from 'vitest';
import { presignUrl, signHeaders, uriEncode } from './sigv4';

// The worked examples of AWS's "Signature Version 4 for Amazon S3" documentation (bucket
// `examplebucket`, the documentation's example key pair, 24 May 2013).
const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const date = new Date('2013-05-24T00:00:00Z');

describe('presignUrl', () => {
  it('gives the signature of the documented presigned GET of test.txt', () => {
    const url = presignUrl({
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
      region: 'us-east-1',
      credentials,
      date,
      expiresIn: 86400,
    });
    expect(new URL(url).searchParams.get('X-Amz-Signature')).toBe('aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
    expect(url).toContain('X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request');
  });

  it('refuses a lifetime S3 would not accept', () => {
    const input = { method: 'GET', url: new URL('https://h/b/k'), region: 'us-east-1', credentials };
    expect(() => presignUrl({ ...input, expiresIn: 0 })).toThrow(RangeError);
    expect(() => presignUrl({ ...input, expiresIn: 604_801 })).toThrow(RangeError);
  });
});

describe('signHeaders', () => {
  it('gives the signature of the documented ranged GET of test.txt', () => {
    const headers = signHeaders({
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
      headers: { range: 'bytes=0-9' },
      region: 'us-east-1',
      credentials,
      date,
    });
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });
});

describe('uriEncode', () => {
  it.each([
    ['a b', false, 'a%20b'],
    ["it's (1)*!", false, 'it%27s%20%281%29%2A%21'],
    ['a/b', false, 'a%2Fb'],
    ['a/b', true, 'a/b'],
    ['é~_.-', false, '%C3%A9~_.-'],
  ])('encodes %j (keepSlash %s) as %s', (value, keepSlash, expected) => {
    expect(uriEncode(value, keepSlash)).toBe(expected);
  });
});
