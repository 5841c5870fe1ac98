import fc from 'fast-check';
import { decide, type Decision } from './decide';
import { resolveOptions } from './options';
import type { Source, SourceEtag } from './source';
import type { ModelOutcome, ModelRepresentation } from '../http/rfc9110-model.test-support';

/**
 * Random representations and requests for the property tests of `decide` against the
 * RFC 9110 model: valid and malformed validators, dates, entity-tag lists and Range headers,
 * biased towards the values where decisions change (equal tags, equal dates, one second off,
 * the last byte, one past it, numbers past 2^53).
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const BASE = Date.UTC(2024, 0, 15, 12, 0, 0);
const OLD_BASE = Date.UTC(2001, 8, 9, 1, 46, 40);

export interface Scenario {
  /** What the source says about itself. */
  source: { size?: number; etag?: SourceEtag; lastModified?: Date };
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  maxRanges: number;
}

const two = (n: number) => String(n).padStart(2, '0');
const clock = (date: Date) => `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;

/** The same instant in each of the three HTTP-date formats (RFC 9110 §5.6.7). */
export function dateForms(ms: number): string[] {
  const date = new Date(ms);
  const month = MONTHS[date.getUTCMonth()]!;
  const day = date.getUTCDate();
  return [
    date.toUTCString(),
    `${LONG_DAYS[date.getUTCDay()]}, ${two(day)}-${month}-${two(date.getUTCFullYear() % 100)} ${clock(date)} GMT`,
    `${DAYS[date.getUTCDay()]} ${month} ${String(day).padStart(2, ' ')} ${clock(date)} ${date.getUTCFullYear()}`,
  ];
}

const sourceSize = fc.oneof(
  { arbitrary: fc.constantFrom(0, 1, 2), weight: 2 },
  { arbitrary: fc.integer({ min: 3, max: 300 }), weight: 4 },
  { arbitrary: fc.integer({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER }), weight: 1 },
  { arbitrary: fc.constantFrom(Number.MAX_SAFE_INTEGER, undefined), weight: 1 },
);

const sourceEtag = fc.constantFrom(undefined, 'v1', '"v1"', 'W/"v1"', '"a,b"', 'W/"a,b"', '"*"', '""', 'two words', 'é');

const sourceDate = fc.constantFrom(undefined, BASE, BASE + 400, BASE + 999, OLD_BASE).map((ms) => (ms === undefined ? undefined : new Date(ms)));

function clientDate(lastModified: Date | undefined): fc.Arbitrary<string> {
  const base = Math.floor((lastModified?.getTime() ?? BASE) / 1000) * 1000;
  const valid = fc
    .tuple(fc.constantFrom(0, 0, -1000, 1000, -86_400_000, 3_600_000), fc.integer({ min: 0, max: 2 }))
    .map(([delta, form]) => dateForms(base + delta)[form]!);
  const imf = new Date(base).toUTCString();
  const invalid = fc.constantFrom(
    new Date(base).toISOString(),
    `${imf}, ${imf}`,
    imf.toLowerCase(),
    imf.replace('GMT', 'UTC'),
    'Thu, 31 Feb 2024 12:00:00 GMT',
    'Mon, 15 Jan 2024 24:00:00 GMT',
    'Mon, 5 Jan 2024 12:00:00 GMT',
    'Mon,15 Jan 2024 12:00:00 GMT',
    String(base / 1000),
    '0',
    'yesterday',
  );
  return fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: invalid, weight: 1 });
}

/** Entity-tags a client may send: the announced one, near misses, and malformed ones. */
function clientTag(announced: string | undefined): fc.Arbitrary<string> {
  const pool = ['"v1"', 'W/"v1"', '"a,b"', 'W/"a,b"', '"*"', '"other"', '""', '"\u00e9"'];
  const malformed = ['v1', 'w/"v1"', 'W/ "v1"', '"v1', 'v1"', '"v 1"', '*', 'W/', '"a"b"'];
  const mine = announced === undefined ? [] : [announced, announced.startsWith('W/') ? announced.slice(2) : `W/${announced}`];
  return fc.oneof(
    { arbitrary: fc.constantFrom(...pool, ...mine), weight: 4 },
    { arbitrary: fc.constantFrom(...malformed), weight: 1 },
  );
}

function tagListField(announced: string | undefined): fc.Arbitrary<string> {
  const list = fc
    .tuple(
      fc.array(fc.oneof({ arbitrary: clientTag(announced), weight: 5 }, { arbitrary: fc.constant(''), weight: 1 }), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.array(fc.constantFrom(',', ', ', ' ,', ',,', ' , ', ',\t'), { minLength: 3, maxLength: 3 }),
    )
    .map(([tags, separators]) => tags.reduce((field, tag, index) => (index === 0 ? tag : `${field}${separators[index - 1]}${tag}`), ''));
  return fc.oneof({ arbitrary: list, weight: 6 }, { arbitrary: fc.constantFrom('*', ' * ', '*,*', '"*"'), weight: 1 });
}

/** Digit strings around the interesting positions of a representation of `size` bytes. */
function position(size: number): fc.Arbitrary<string> {
  const near = [0n, 1n, BigInt(size) - 1n, BigInt(size), BigInt(size) + 1n].filter((n) => n >= 0n).map(String);
  return fc.oneof(
    { arbitrary: fc.constantFrom(...near), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: Math.max(size, 1) }).map(String), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: 400 }).map(String), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        '9007199254740991',
        '9007199254740992',
        '9007199254740993',
        '18446744073709551616',
        '0000000000000000000000005',
        '9'.repeat(40),
        '1'.repeat(400),
      ),
      weight: 1,
    },
  );
}

/** Short ranges, so that several fit in the representation and multipart answers happen. */
function shortRange(size: number): fc.Arbitrary<string> {
  return fc.tuple(fc.integer({ min: 0, max: Math.min(size, 2 ** 40) }), fc.integer({ min: 0, max: 3 })).map(([a, k]) => `${a}-${a + k}`);
}

function rangeSpec(size: number): fc.Arbitrary<string> {
  const pos = position(size);
  return fc.oneof(
    { arbitrary: shortRange(size), weight: 6 },
    { arbitrary: fc.tuple(pos, pos).map(([a, b]) => (BigInt(a) <= BigInt(b) ? `${a}-${b}` : `${b}-${a}`)), weight: 8 },
    { arbitrary: fc.tuple(pos, pos).map(([a, b]) => `${a}-${b}`), weight: 1 },
    { arbitrary: pos.map((a) => `${a}-`), weight: 2 },
    { arbitrary: pos.map((n) => `-${n}`), weight: 2 },
    { arbitrary: fc.tuple(pos, pos, fc.constantFrom(' ', '\t', '  ')).map(([a, b, blank]) => `${a}${blank}-${blank}${b}`), weight: 1 },
    { arbitrary: pos.map((n) => `- ${n}`), weight: 1 },
    // Neighbours past 2^53, where positions read as floats collide.
    {
      arbitrary: fc.tuple(fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 64n }), fc.boolean()).map(([n, up]) => (up ? `${n}-${n + 1n}` : `${n + 1n}-${n}`)),
      weight: 1,
    },
    { arbitrary: fc.constantFrom('abc', '-', '', ' ', '1-2-3', '--5', '+1-2', '0x10-', '1.5-2', '-1-2', '\u00b2-3', '1e3-', '*'), weight: 1 },
  );
}

function rangeField(size: number | undefined): fc.Arbitrary<string> {
  const specs = fc.oneof(
    { arbitrary: fc.array(rangeSpec(size ?? 100), { minLength: 1, maxLength: 1 }), weight: 4 },
    { arbitrary: fc.array(rangeSpec(size ?? 100), { minLength: 0, maxLength: 4 }), weight: 4 },
    { arbitrary: fc.array(rangeSpec(size ?? 100), { minLength: 14, maxLength: 20 }), weight: 1 },
    { arbitrary: fc.array(shortRange(size ?? 100), { minLength: 2, maxLength: 6 }), weight: 3 },
  );
  const unit = fc.oneof(
    { arbitrary: fc.constant('bytes='), weight: 12 },
    { arbitrary: fc.constantFrom('Bytes=', 'BYTES=', 'bytes =', 'bytes= ', 'items=', '=', 'byte=', 'bytes', 'bytes:', 'by tes='), weight: 2 },
  );
  const separator = fc.constantFrom(',', ', ', ' ,', ',,', ',\t');
  const structured = fc.tuple(unit, specs, separator).map(([u, s, sep]) => `${u}${s.join(sep)}`);
  return fc.oneof({ arbitrary: structured, weight: 9 }, { arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,24}$/), weight: 1 });
}

/** The ETag and Last-Modified the engine announces for a source (what clients revalidate with). */
export function announced(source: Scenario['source']): { etag?: string; lastModified?: string } {
  const decision = decide(new Request('http://x/f'), fakeSource(source), resolveOptions({}, 'property'));
  return { etag: decision.headers.get('etag') ?? undefined, lastModified: decision.headers.get('last-modified') ?? undefined };
}

export function fakeSource(meta: Scenario['source']): Source {
  return {
    name: 'f.bin',
    ...meta,
    open: () => {
      throw new Error('decide must never open');
    },
  };
}

/** `arbitrary` in `chance` of the cases, otherwise absent. */
const maybe = <T>(arbitrary: fc.Arbitrary<T>, chance: number) =>
  fc.oneof({ arbitrary, weight: Math.round(chance * 100) }, { arbitrary: fc.constant(undefined), weight: Math.round((1 - chance) * 100) });

/**
 * A whole scenario. `focus` biases which headers appear: 'conditional' mixes every header,
 * 'range' sends Range (and often If-Range) on GET.
 */
export function scenario(focus: 'conditional' | 'range'): fc.Arbitrary<Scenario> {
  return fc
    .record({ size: sourceSize, etag: sourceEtag, lastModified: sourceDate })
    .chain((source) => {
      const { etag } = announced(source);
      // Each precondition in about a third of the requests (a tenth when Range is the focus).
      const chance = focus === 'range' ? 0.1 : 0.35;
      return fc.record({
        source: fc.constant(source),
        method: focus === 'range' ? fc.constant('GET' as const) : fc.constantFrom('GET' as const, 'GET' as const, 'HEAD' as const),
        maxRanges: fc.constantFrom(16, 16, 16, 16, 1, 2),
        headers: fc
          .record({
            'if-match': maybe(tagListField(etag), chance),
            'if-none-match': maybe(tagListField(etag), chance),
            'if-modified-since': maybe(clientDate(source.lastModified), chance),
            'if-unmodified-since': maybe(clientDate(source.lastModified), chance),
            'if-range': maybe(fc.oneof(clientTag(etag), clientDate(source.lastModified)), 0.3),
            range: focus === 'range' ? rangeField(source.size) : maybe(rangeField(source.size), 0.6),
            'cache-control': maybe(fc.constantFrom('no-cache', 'max-age=0', 'no-store'), 0.2),
          })
          .map((headers) => Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)) as Record<string, string>),
      });
    });
}

/** The engine's decision for a scenario, as a model outcome (plus the decision itself). */
export function engineOutcome(input: Scenario): { outcome: ModelOutcome; decision: Decision } {
  const request = new Request('http://x/f', { method: input.method, headers: input.headers });
  const decision = decide(request, fakeSource(input.source), resolveOptions({ maxRanges: input.maxRanges }, 'property'));
  const { body } = decision;
  if (decision.status !== 206) return { outcome: { status: decision.status }, decision };
  if (body.kind === 'range') return { outcome: { status: 206, ranges: [[body.range.start, body.range.end]], multipart: false }, decision };
  if (body.kind === 'multipart') {
    const ranges = body.plan.parts.map(({ range }): [number, number] => [range.start, range.end]);
    return { outcome: { status: 206, ranges, multipart: true }, decision };
  }
  throw new Error(`a 206 with a ${body.kind} body from a source that answers nothing itself`);
}

export function modelRepresentation(source: Scenario['source']): ModelRepresentation {
  const { etag, lastModified } = announced(source);
  return { size: source.size, etag, lastModified };
}
