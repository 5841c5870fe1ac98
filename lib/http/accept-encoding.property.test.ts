import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { selectEncoding } from './accept-encoding';

// selectEncoding against RFC 9110 §12.5.3 read directly, on structured Accept-Encoding fields
// (the model never parses a string): random codings, q-values, `*`, `identity`, case and spacing.

const RUNS = Number(process.env.PROPERTY_RUNS ?? 2000);

interface Entry {
  coding: string;
  q: number | undefined;
  spelled: string;
}

const Q_VALUES = [0, 0.001, 0.1, 0.5, 0.9, 0.999, 1];
const entry = fc
  .record({
    coding: fc.constantFrom('br', 'gzip', 'x-gzip', 'identity', '*', 'deflate', 'zstd', 'compress'),
    q: fc.option(fc.constantFrom(...Q_VALUES), { nil: undefined }),
    upper: fc.boolean(),
    space: fc.constantFrom('', ' ', '  ', '\t'),
  })
  .map(({ coding, q, upper, space }): Entry => {
    const name = upper ? coding.toUpperCase() : coding;
    const weight = q === undefined ? '' : `${space};${space}q=${q === 1 ? '1.0' : String(q)}`;
    return { coding, q, spelled: `${space}${name}${weight}` };
  });

/** The field's weight for a coding, by §12.5.3 and §12.4.2: its first entry, else `*`'s. */
function modelWeight(entries: readonly Entry[], coding: string): number | undefined {
  const canonical = (c: string) => (c === 'x-gzip' ? 'gzip' : c);
  const own = entries.find((e) => canonical(e.coding) === coding);
  if (own) return own.q ?? 1;
  const star = entries.find((e) => e.coding === '*');
  return star ? (star.q ?? 1) : undefined;
}

describe('selectEncoding against RFC 9110 §12.5.3', () => {
  it('picks an acceptable coding with the highest q, the server\'s order breaking ties', () => {
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 6 }),
        fc.shuffledSubarray(['br', 'gzip', 'zstd']),
        (entries, offered) => {
          const field = entries.map((e) => e.spelled).join(',');
          const chosen = selectEncoding(field, offered);
          const weights = offered.map((coding) => modelWeight(entries, coding) ?? 0);
          const bestQ = Math.max(0, ...weights);
          const identity = modelWeight(entries, 'identity');
          // Rule 2: identity is acceptable unless `identity;q=0`, or `*;q=0` with no identity entry.
          const identityAcceptable = identity !== 0;
          if (chosen === undefined) {
            expect(bestQ).toBe(0);
            expect(identityAcceptable).toBe(false);
          } else if (chosen === 'identity') {
            expect(identityAcceptable).toBe(true);
            // Chosen over a coding only if none is acceptable or the client weighs identity higher.
            if (bestQ > 0) expect(identity).toBeGreaterThan(bestQ);
          } else {
            const index = offered.indexOf(chosen);
            expect(index).toBeGreaterThanOrEqual(0);
            // Rule 3: listed (or covered by `*`) with a non-zero q; a zero q refuses.
            expect(weights[index]).toBeGreaterThan(0);
            expect(weights[index]).toBe(bestQ);
            // The better coding first at equal q.
            expect(weights.slice(0, index).every((q) => q < bestQ)).toBe(true);
            if (identity !== undefined) expect(identity).toBeLessThanOrEqual(bestQ);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('never picks a coding the server does not hold', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.subarray(['br', 'gzip']), (field, offered) => {
        const chosen = selectEncoding(field, offered);
        expect(chosen === undefined || chosen === 'identity' || offered.includes(chosen)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
