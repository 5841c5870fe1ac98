import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engineOutcome, modelRepresentation, scenario, type Scenario } from './rfc9110-arbitraries.test-support';
import { expectedOutcomes } from '../http/rfc9110-model.test-support';

// decide() on GET with a Range header (and often If-Range) against the RFC 9110 model: random
// sizes (0, 1, small, past 2^31, 2^53 - 1), positions at and around the last byte, suffixes,
// overlaps, blanks, malformed specs, more ranges than the cap and numbers past 2^53.

// PROPERTY_RUNS=50000 for a longer hunt.
const RUNS = Number(process.env.PROPERTY_RUNS ?? 3000);

describe('decide(request, source, options) with a Range header', () => {
  it('answers 206, 416 or 200 as RFC 9110 §14.1-14.2 and the documented choices say', () => {
    fc.assert(
      fc.property(scenario('range'), (input) => {
        const { outcome, decision } = engineOutcome(input);
        const allowed = expectedOutcomes(modelRepresentation(input.source), {
          method: input.method,
          headers: input.headers,
          maxRanges: input.maxRanges,
        });
        expect(allowed, `the engine answered ${JSON.stringify(outcome)}`).toContainEqual(outcome);
        if (outcome.status === 206 && !outcome.multipart) {
          const [[first, last]] = outcome.ranges as [[number, number]];
          // §14.4: Content-Range of a single part; its length is the part's.
          expect(decision.headers.get('content-range')).toBe(`bytes ${first}-${last}/${input.source.size}`);
          expect(decision.headers.get('content-length')).toBe(String(last - first + 1));
        }
        if (outcome.status === 206 && outcome.multipart) {
          expect(decision.headers.get('content-type')).toMatch(/^multipart\/byteranges; boundary=/);
          expect(decision.headers.get('content-range')).toBeNull();
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('decide(request, source, options) with arbitrary header bytes', () => {
  // Any Latin-1 a client can put in these fields (Headers refuses CR, LF and NUL) gets one of the
  // answers the model allows, never an exception (a 500).
  const field = fc.string({ unit: fc.integer({ min: 0x01, max: 0xff }).filter((code) => code !== 0x0a && code !== 0x0d).map((code) => String.fromCharCode(code)), maxLength: 60 });
  const input: fc.Arbitrary<Scenario> = fc.record({
    source: fc.record({ size: fc.constantFrom(0, 1, 100, undefined), etag: fc.constantFrom('v1', undefined), lastModified: fc.constant(new Date(Date.UTC(2024, 0, 15, 12))) }),
    method: fc.constantFrom('GET' as const, 'HEAD' as const),
    maxRanges: fc.constant(16),
    headers: fc.dictionary(fc.constantFrom('range', 'if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'), field),
  });

  it('answers as the model allows', () => {
    fc.assert(
      fc.property(input, (scenario) => {
        const { outcome } = engineOutcome(scenario);
        const allowed = expectedOutcomes(modelRepresentation(scenario.source), scenario);
        expect(allowed, `the engine answered ${JSON.stringify(outcome)}`).toContainEqual(outcome);
      }),
      { numRuns: RUNS },
    );
  });
});
