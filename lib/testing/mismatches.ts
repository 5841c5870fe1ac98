import { AssertionError } from 'node:assert';
import { parseContentDisposition, type ParsedContentDisposition } from './parse-content-disposition';

/**
 * Collects every difference before failing, so one run shows all of them, then throws one
 * `AssertionError` (node:assert: vitest, jest and node:test all report it, with a diff of
 * `expected` against `actual`).
 */
export class Mismatches {
  private readonly lines: string[] = [];
  readonly expected: Record<string, unknown> = {};
  readonly actual: Record<string, unknown> = {};

  /** Records a check; a failed one becomes a line `label: expected ..., got ...`. */
  check(label: string, ok: boolean, expected: unknown, actual: unknown, note?: string): void {
    this.expected[label] = expected;
    this.actual[label] = actual;
    if (!ok) this.lines.push(`${label}: expected ${show(expected)}, got ${show(actual)}${note ? ` (${note})` : ''}`);
  }

  /** Like `check`, for values already described in words (printed as they are, unquoted). */
  checkDescribed(label: string, ok: boolean, expected: string, actual: string, note?: string): void {
    this.expected[label] = expected;
    this.actual[label] = actual;
    if (!ok) this.lines.push(`${label}: expected ${expected}, got ${actual}${note ? ` (${note})` : ''}`);
  }

  /** Records a failure that is not a comparison of two values. */
  problem(label: string, message: string): void {
    this.expected[label] = '(valid)';
    this.actual[label] = message;
    this.lines.push(`${label}: ${message}`);
  }

  throwIfAny(title: string, operator: string, stackStartFn: (...args: never[]) => unknown): void {
    if (this.lines.length === 0) return;
    throw new AssertionError({
      message: `${title}:\n${this.lines.map((line) => `  - ${line}`).join('\n')}`,
      expected: this.expected,
      actual: this.actual,
      operator,
      stackStartFn,
    });
  }
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '(absent)';
  if (value instanceof RegExp) return String(value);
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Content-Type against a string or a RegExp. A RegExp is matched against the whole header. A
 * string with parameters (`text/plain; charset=utf-8`) must equal the header, with case and
 * spaces normalised; one without (`text/plain`) is compared with the media type alone.
 */
export function contentTypeMatches(expected: string | RegExp, actual: string | null): boolean {
  if (actual === null) return false;
  if (expected instanceof RegExp) return actual.search(expected) !== -1;
  if (expected.includes(';')) return normaliseContentType(expected) === normaliseContentType(actual);
  return mediaType(actual) === expected.trim().toLowerCase();
}

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function normaliseContentType(contentType: string): string {
  const [type = '', ...parameters] = contentType.split(';');
  const normalised = parameters.map((parameter) => {
    const [name = '', ...value] = parameter.split('=');
    const key = name.trim().toLowerCase();
    const text = value.join('=').trim();
    // Charset names are case-insensitive (RFC 9110 §8.3.2); other values may not be.
    return `${key}=${key === 'charset' ? text.toLowerCase() : text}`;
  });
  return [type.trim().toLowerCase(), ...normalised].join('; ');
}

/** Reads Content-Disposition, recording a missing or unreadable header as a problem. */
export function readDisposition(response: Response, mismatches: Mismatches): ParsedContentDisposition | undefined {
  const header = response.headers.get('content-disposition');
  if (header === null) {
    mismatches.problem('Content-Disposition', 'the header is absent');
    return undefined;
  }
  try {
    return parseContentDisposition(header);
  } catch (error) {
    mismatches.problem('Content-Disposition', (error as Error).message);
    return undefined;
  }
}

/** The body bytes, from a clone so the caller can still read the response. */
export async function readBody(response: Response, mismatches: Mismatches): Promise<Uint8Array | undefined> {
  if (response.bodyUsed) {
    mismatches.problem('body', 'already read; assert before reading the body, or on a clone');
    return undefined;
  }
  return new Uint8Array(await response.clone().arrayBuffer());
}

/** A short, readable picture of some bytes: text when it is printable UTF-8, hex otherwise. */
export function describeBytes(bytes: Uint8Array): string {
  const size = `${bytes.byteLength} byte${bytes.byteLength === 1 ? '' : 's'}`;
  if (bytes.byteLength === 0) return size;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    // eslint-disable-next-line no-control-regex -- deciding whether it prints is the point
    if (!/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) {
      return `${size} ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}`;
    }
  } catch {
    // Not UTF-8: shown as hex below.
  }
  const hex = [...bytes.subarray(0, 16)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return `${size} <${hex}${bytes.byteLength > 16 ? ' …' : ''}>`;
}

/** Offset of the first byte where two arrays differ (the shorter length if one is a prefix). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return length;
}
