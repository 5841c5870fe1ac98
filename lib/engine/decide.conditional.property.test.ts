import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from './decide';
import { resolveOptions } from './options';
import { announced, engineOutcome, fakeSource, modelRepresentation, scenario, type Scenario } from './rfc9110-arbitraries.test-support';
import { expectedOutcomes, httpDate } from '../http/rfc9110-model.test-support';

// decide() against a reference model of RFC 9110 written from the RFC's text (lib/http/rfc9110-model.test-support.ts):
// random validators, dates, tag lists and Range headers, valid and malformed. On failure
// fast-check prints the seed and the shrunk counterexample; replay it with `{ seed, path }`.

// PROPERTY_RUNS=50000 for a longer hunt.
const RUNS = Number(process.env.PROPERTY_RUNS ?? 2500);

function check(input: Scenario): void {
  const { outcome, decision } = engineOutcome(input);
  const allowed = expectedOutcomes(modelRepresentation(input.source), {
    method: input.method,
    headers: input.headers,
    maxRanges: input.maxRanges,
  });
  expect(allowed, `the engine answered ${JSON.stringify(outcome)}`).toContainEqual(outcome);

  // The headers that go with each status.
  const { headers } = decision;
  const size = input.source.size;
  switch (decision.status) {
    case 200:
      expect(headers.get('content-range')).toBeNull();
      expect(headers.get('content-length')).toBe(size === undefined ? null : String(size));
      break;
    case 304:
      // §15.4.5: the validators a 200 would carry, and no representation metadata.
      expect(headers.get('content-length')).toBeNull();
      expect(headers.get('content-type')).toBeNull();
      expect(headers.get('etag')).toBe(modelRepresentation(input.source).etag ?? null);
      break;
    case 412:
      expect(headers.get('content-length')).toBeNull();
      break;
    case 416:
      // §15.5.17 / §14.4: the current length, as `bytes */length`.
      expect(headers.get('content-range')).toBe(`bytes */${size}`);
      expect(headers.get('content-length')).toBeNull();
      break;
  }
}

describe('decide(request, source, options) against the RFC 9110 model', () => {
  it('answers every mix of preconditions, If-Range and Range as RFC 9110 §13.2.2 orders them', () => {
    fc.assert(fc.property(scenario('conditional'), check), { numRuns: RUNS });
  });
});

describe('validators the engine announces', () => {
  // Whatever a source calls its etag (any string, quotes, controls, non-ASCII, weak or not) and
  // whatever its date (years 0 to 9999, milliseconds, invalid), a client that revalidates with
  // exactly what it was sent must be understood.
  const anySource = fc.record({
    size: fc.integer({ min: 1, max: 1000 }),
    etag: fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.record({ tag: fc.string({ unit: 'binary', maxLength: 40 }), weak: fc.option(fc.boolean(), { nil: undefined }) })), { nil: undefined }),
    lastModified: fc.option(fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z') }), { nil: undefined }),
  });

  it('are well-formed, and a revalidation with them gets 304, passes If-Match and honours If-Range', () => {
    fc.assert(
      fc.property(anySource, (meta) => {
        const { etag, lastModified } = announced(meta);
        const answer = (headers: Record<string, string>) =>
          decide(new Request('http://x/f', { headers }), fakeSource(meta), resolveOptions({}, 'property')).status;
        if (meta.etag !== undefined) {
          // §8.8.3: entity-tag = [ weak ] opaque-tag, visible ASCII only when we produce it.
          expect(etag).toMatch(/^(W\/)?"[\x21\x23-\x7e]*"$/);
          expect(answer({ 'if-none-match': etag! })).toBe(304);
          const strong = !etag!.startsWith('W/');
          expect(answer({ 'if-match': etag! })).toBe(strong ? 200 : 412);
          expect(answer({ 'if-range': etag!, range: 'bytes=0-0' })).toBe(strong ? 206 : 200);
        }
        if (meta.lastModified !== undefined && Number.isNaN(meta.lastModified.getTime())) {
          expect(lastModified, 'no Last-Modified for an invalid date').toBeUndefined();
        } else if (meta.lastModified !== undefined && meta.lastModified.getTime() > Date.now() - 1000) {
          // §8.8.2.1: a modification date in the future is replaced by the time of the response.
          expect(lastModified).toBeDefined();
          expect(httpDate(lastModified!)! * 1000).toBeLessThanOrEqual(Date.now());
          expect(httpDate(lastModified!)! * 1000).toBeGreaterThan(Date.now() - 60_000);
        } else if (meta.lastModified !== undefined) {
          // §5.6.7: an IMF-fixdate, naming the same second.
          expect(lastModified).toBeDefined();
          expect(httpDate(lastModified!), lastModified).toBe(Math.floor(meta.lastModified.getTime() / 1000));
          expect(answer({ 'if-modified-since': lastModified! })).toBe(304);
          expect(answer({ 'if-unmodified-since': lastModified! })).toBe(200);
          expect(answer({ 'if-range': lastModified!, range: 'bytes=0-0' })).toBe(206);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
