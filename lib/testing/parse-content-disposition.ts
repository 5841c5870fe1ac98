/** A Content-Disposition header, read the way a browser reads it. */
export interface ParsedContentDisposition {
  /** The disposition type in lower case: `attachment`, `inline`, or an extension type. */
  type: string;
  /**
   * Every parameter, by lower-cased name. Values are unquoted and unescaped; extended ones
   * (`filename*`, RFC 8187) are decoded to text.
   */
  parameters: Record<string, string>;
  /** The name a browser saves under: `filename*` when present, else `filename` (RFC 6266 §4.3). */
  filename?: string;
}

/** RFC 9110 §5.6.2 tchar. */
const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
/** RFC 9110 §5.6.4 qdtext and quoted-pair, obs-text included. */
const QUOTED = /"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"/y;
const OWS = /[ \t]*/y;
/** RFC 8187 §3.2.1 ext-value: charset ' [ language ] ' value-chars. */
const EXT_VALUE = /^([!#$%&+\-^_`{}~0-9A-Za-z]+)'([A-Za-z0-9-]*)'((?:[!#$&+\-.^_`|~0-9A-Za-z]|%[0-9A-Fa-f]{2})*)$/;

/**
 * Parses a Content-Disposition header (RFC 6266 §4.1) strictly enough for a test to catch what a
 * browser would misread: a bare value that is not a token (an unquoted space), a broken quoted
 * string, a repeated parameter, a `filename*` that is quoted, in a charset other than UTF-8 or
 * ISO-8859-1, or not valid UTF-8. Those throw a `TypeError` naming the problem and its position.
 *
 * Written here rather than taken from the `content-disposition` package, which writes the
 * kit's headers: a check built on the writer would share its mistakes.
 *
 * @example
 * parseContentDisposition(`attachment; filename="resume.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`);
 * // -> { type: 'attachment', filename: 'résumé.pdf',
 * //      parameters: { filename: 'resume.pdf', 'filename*': 'résumé.pdf' } }
 */
export function parseContentDisposition(header: string): ParsedContentDisposition {
  if (typeof header !== 'string') throw new TypeError('Content-Disposition: expected a string');
  let at = 0;
  const fail = (problem: string, position = at): never => {
    throw new TypeError(`Content-Disposition: ${problem} at position ${position} of ${JSON.stringify(header)}`);
  };
  const match = (pattern: RegExp): RegExpExecArray | null => {
    pattern.lastIndex = at;
    const found = pattern.exec(header);
    if (found) at = pattern.lastIndex;
    return found;
  };

  match(OWS);
  const type = match(TOKEN)?.[0].toLowerCase() ?? fail('expected a disposition type');
  const parameters: Record<string, string> = Object.create(null) as Record<string, string>;
  match(OWS);
  while (at < header.length) {
    if (header[at] !== ';') fail('expected ";"');
    at++;
    match(OWS);
    // A trailing ";" is harmless and common enough to let through.
    if (at === header.length) break;
    const nameStart = at;
    const name = match(TOKEN)?.[0].toLowerCase() ?? fail('expected a parameter name');
    match(OWS);
    if (header[at] !== '=') fail(`expected "=" after ${name}`);
    at++;
    match(OWS);
    const start = at;
    const extended = name.endsWith('*');
    let value: string;
    const quoted = match(QUOTED);
    if (quoted) {
      // RFC 8187 §3.2: an extended value is never a quoted-string.
      if (extended) fail(`${name} must not be quoted`, start);
      value = quoted[1]!.replace(/\\(.)/g, '$1');
    } else {
      const token = match(TOKEN)?.[0] ?? fail(`expected a token or a quoted string for ${name}`);
      const decoded = extended ? decodeExtValue(token) : { value: token };
      value = 'value' in decoded ? decoded.value : fail(`${name} ${decoded.problem}`, start);
    }
    // RFC 6266 §4.1: parameters must not repeat; browsers disagree on which one wins.
    if (Object.hasOwn(parameters, name)) fail(`${name} is repeated`, nameStart);
    parameters[name] = value;
    match(OWS);
  }

  const filename = parameters['filename*'] ?? parameters.filename;
  return filename === undefined ? { type, parameters } : { type, parameters, filename };
}

/** RFC 8187 §3.2.1: percent-decodes the value, then reads the bytes in the declared charset. */
function decodeExtValue(text: string): { value: string } | { problem: string } {
  const parts = EXT_VALUE.exec(text);
  if (!parts) return { problem: "is not charset'language'value (RFC 8187)" };
  const charset = parts[1]!.toLowerCase();
  const bytes: number[] = [];
  for (const [, escape, char] of parts[3]!.matchAll(/%([0-9A-Fa-f]{2})|(.)/g)) {
    bytes.push(escape === undefined ? char!.charCodeAt(0) : Number.parseInt(escape, 16));
  }
  if (charset === 'iso-8859-1') return { value: String.fromCharCode(...bytes) };
  if (charset !== 'utf-8') return { problem: `has charset ${parts[1]}; RFC 8187 allows UTF-8 and ISO-8859-1` };
  try {
    return { value: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(new Uint8Array(bytes)) };
  } catch {
    return { problem: 'is not valid UTF-8' };
  }
}
