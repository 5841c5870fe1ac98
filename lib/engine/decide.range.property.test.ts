import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engineOutcome, modelRepresentation, scenario } from './rfc9110-arbitraries';
import { expectedOutcomes } from '../http/rfc9110-model';

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
