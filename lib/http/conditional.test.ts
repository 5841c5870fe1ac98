import { describe, it, expect } from 'vitest';
import { evaluatePreconditions, type Precondition, type Validators } from './conditional';

const LAST_MODIFIED = new Date(Date.UTC(2024, 0, 15, 12, 0, 0, 700));
const AT = 'Mon, 15 Jan 2024 12:00:00 GMT'; // Last-Modified as sent
const BEFORE = 'Mon, 15 Jan 2024 11:59:59 GMT';
const AFTER = 'Mon, 15 Jan 2024 12:00:01 GMT';

const BOTH: Validators = { etag: { weak: false, opaque: 'v1' }, lastModified: LAST_MODIFIED };
const WEAK_ETAG: Validators = { etag: { weak: true, opaque: 'v1' }, lastModified: LAST_MODIFIED };
const NO_ETAG: Validators = { lastModified: LAST_MODIFIED };
const NO_DATE: Validators = { etag: { weak: false, opaque: 'v1' } };
const NOTHING: Validators = {};

const proceed: Precondition = { kind: 'proceed' };
const notModified: Precondition = { kind: 'not-modified' };
const failed: Precondition = { kind: 'precondition-failed' };

type Row = [string, string, Record<string, string>, Validators, Precondition];

function run(rows: Row[]) {
  it.each(rows)('%s', (_label, method, headers, validators, expected) => {
    expect(evaluatePreconditions(method, new Headers(headers), validators)).toEqual(expected);
  });
}

describe('evaluatePreconditions', () => {
  describe('without conditional headers', () => {
    run([
      ['proceeds for GET', 'GET', {}, BOTH, proceed],
      ['proceeds for a representation without validators', 'GET', {}, NOTHING, proceed],
    ]);
  });

  describe('with If-Match (step 1, strong comparison)', () => {
    run([
      ['proceeds when a member matches', 'GET', { 'if-match': '"x", "v1"' }, BOTH, proceed],
      ['proceeds on "*" since the representation exists', 'GET', { 'if-match': '*' }, NOTHING, proceed],
      ['fails when no member matches', 'GET', { 'if-match': '"x", "y"' }, BOTH, failed],
      ['fails when the member is weak', 'GET', { 'if-match': 'W/"v1"' }, BOTH, failed],
      ['fails when the current etag is weak', 'GET', { 'if-match': '"v1"' }, WEAK_ETAG, failed],
      ['fails when there is no current etag', 'GET', { 'if-match': '"v1"' }, NO_ETAG, failed],
      ['fails when the field is only garbage', 'GET', { 'if-match': 'v1' }, BOTH, failed],
      ['fails for PUT as well', 'PUT', { 'if-match': '"x"' }, BOTH, failed],
      [
        'skips If-Unmodified-Since once it passed',
        'GET',
        { 'if-match': '"v1"', 'if-unmodified-since': BEFORE },
        BOTH,
        proceed,
      ],
      [
        'fails before looking at If-None-Match',
        'GET',
        { 'if-match': '"x"', 'if-none-match': '"v1"' },
        BOTH,
        failed,
      ],
    ]);
  });

  describe('with If-Unmodified-Since (step 2)', () => {
    run([
      ['proceeds when not modified since', 'GET', { 'if-unmodified-since': AT }, BOTH, proceed],
      ['proceeds when the date is later', 'GET', { 'if-unmodified-since': AFTER }, BOTH, proceed],
      ['fails when modified since', 'GET', { 'if-unmodified-since': BEFORE }, BOTH, failed],
      ['fails for POST when modified since', 'POST', { 'if-unmodified-since': BEFORE }, BOTH, failed],
      ['is ignored when the date is invalid', 'GET', { 'if-unmodified-since': 'yesterday' }, BOTH, proceed],
      [
        'is ignored when it holds two dates',
        'GET',
        { 'if-unmodified-since': `${BEFORE}, ${BEFORE}` },
        BOTH,
        proceed,
      ],
      ['is ignored without Last-Modified', 'GET', { 'if-unmodified-since': BEFORE }, NO_DATE, proceed],
    ]);
  });

  describe('with If-None-Match (step 3, weak comparison)', () => {
    run([
      ['answers not-modified to GET when a member matches', 'GET', { 'if-none-match': '"x", "v1"' }, BOTH, notModified],
      ['answers not-modified to HEAD when a member matches', 'HEAD', { 'if-none-match': '"v1"' }, BOTH, notModified],
      ['matches a weak member against a strong etag', 'GET', { 'if-none-match': 'W/"v1"' }, BOTH, notModified],
      ['matches a strong member against a weak etag', 'GET', { 'if-none-match': '"v1"' }, WEAK_ETAG, notModified],
      ['answers not-modified on "*"', 'GET', { 'if-none-match': '*' }, NOTHING, notModified],
      ['fails for POST when a member matches', 'POST', { 'if-none-match': '"v1"' }, BOTH, failed],
      ['fails for PUT on "*"', 'PUT', { 'if-none-match': '*' }, BOTH, failed],
      ['proceeds when no member matches', 'GET', { 'if-none-match': '"x"' }, BOTH, proceed],
      ['proceeds when there is no current etag', 'GET', { 'if-none-match': '"v1"' }, NO_ETAG, proceed],
      [
        'makes If-Modified-Since ignored when no member matches',
        'GET',
        { 'if-none-match': '"x"', 'if-modified-since': AFTER },
        BOTH,
        proceed,
      ],
      [
        'wins over If-Modified-Since when a member matches',
        'GET',
        { 'if-none-match': '"v1"', 'if-modified-since': BEFORE },
        BOTH,
        notModified,
      ],
      [
        'is evaluated after a passing If-Unmodified-Since',
        'GET',
        { 'if-unmodified-since': AT, 'if-none-match': '"v1"' },
        BOTH,
        notModified,
      ],
      [
        'is not reached after a failing If-Unmodified-Since',
        'GET',
        { 'if-unmodified-since': BEFORE, 'if-none-match': '"v1"' },
        BOTH,
        failed,
      ],
    ]);
  });

  describe('with If-Modified-Since (step 4)', () => {
    run([
      ['answers not-modified when the date equals Last-Modified (whole seconds)', 'GET', { 'if-modified-since': AT }, BOTH, notModified],
      ['answers not-modified when the date is later', 'HEAD', { 'if-modified-since': AFTER }, BOTH, notModified],
      ['proceeds when modified since', 'GET', { 'if-modified-since': BEFORE }, BOTH, proceed],
      ['is ignored for POST', 'POST', { 'if-modified-since': AFTER }, BOTH, proceed],
      ['is ignored for a lowercase method (methods are case-sensitive)', 'get', { 'if-modified-since': AFTER }, BOTH, proceed],
      ['is ignored when the date is invalid', 'GET', { 'if-modified-since': '2099-01-01' }, BOTH, proceed],
      ['is ignored without Last-Modified', 'GET', { 'if-modified-since': AFTER }, NO_DATE, proceed],
      [
        'is not disabled by a request Cache-Control: no-cache',
        'GET',
        { 'if-modified-since': AT, 'cache-control': 'no-cache' },
        BOTH,
        notModified,
      ],
    ]);

    describe('with a modifiedSince callback', () => {
      it.each([
        ['answers not-modified when the callback says "not modified"', false, BEFORE, notModified],
        ['proceeds when the callback says "modified"', true, AFTER, proceed],
      ])('%s, whatever Last-Modified says', (_label, answer, date, expected) => {
        const seen: Date[] = [];
        const result = evaluatePreconditions('GET', new Headers({ 'if-modified-since': date }), BOTH, {
          modifiedSince: (since) => {
            seen.push(since);
            return answer;
          },
        });
        expect(result).toEqual(expected);
        expect(seen.map((d) => d.toUTCString())).toEqual([date]);
      });

      it('is consulted when the representation has no modification date (generated content)', () => {
        const result = evaluatePreconditions('GET', new Headers({ 'if-modified-since': AT }), {}, { modifiedSince: () => false });
        expect(result).toEqual(notModified);
        expect(evaluatePreconditions('HEAD', new Headers({ 'if-modified-since': AT }), {}, { modifiedSince: () => true })).toEqual(proceed);
      });

      it('is not called for a date that is not a valid HTTP-date, nor for another method', () => {
        let calls = 0;
        const hook = { modifiedSince: () => (calls++, false) };
        expect(evaluatePreconditions('GET', new Headers({ 'if-modified-since': 'yesterday' }), {}, hook)).toEqual(proceed);
        expect(evaluatePreconditions('POST', new Headers({ 'if-modified-since': AT }), {}, hook)).toEqual(proceed);
        expect(calls).toBe(0);
      });

      it('is not called when If-None-Match is present', () => {
        let calls = 0;
        const headers = new Headers({ 'if-none-match': '"x"', 'if-modified-since': AT });
        const result = evaluatePreconditions('GET', headers, BOTH, {
          modifiedSince: () => {
            calls++;
            return false;
          },
        });
        expect(result).toEqual(proceed);
        expect(calls).toBe(0);
      });
    });
  });
});
