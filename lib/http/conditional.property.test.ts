import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engineOutcome, modelRepresentation, scenario, type Scenario } from './rfc9110-arbitraries';
import { expectedOutcomes } from './rfc9110-model';

// decide() against a reference model of RFC 9110 written from the RFC's text (rfc9110-model.ts):
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
