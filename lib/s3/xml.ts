/**
 * The little XML S3 answers with (ListObjectsV2, multipart uploads, errors): flat elements whose
 * text is read by name. Not a general XML parser: S3 documents have no attributes we need, no
 * CDATA and no nesting of an element inside one of the same name.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Replaces the five predefined entities and numeric character references (XML 1.0 §4.1, §4.6). */
export function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (whole, entity: string) => {
    if (entity[0] !== '#') return ENTITIES[entity] ?? whole;
    const code = entity[1] === 'x' ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

export function escapeXmlText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/** The raw inner text of every `<tag>...</tag>` in `xml`, in order. */
export function elements(xml: string, tag: string): string[] {
  const found: string[] = [];
  const open = new RegExp(`<${tag}(?:\\s[^>]*)?>`, 'g');
  const close = `</${tag}>`;
  for (let match = open.exec(xml); match; match = open.exec(xml)) {
    const start = match.index + match[0].length;
    const end = xml.indexOf(close, start);
    if (end < 0) break;
    found.push(xml.slice(start, end));
    open.lastIndex = end + close.length;
  }
  return found;
}

/** The decoded text of the first `<tag>` in `xml`, if any. */
export function text(xml: string, tag: string): string | undefined {
  const [inner] = elements(xml, tag);
  return inner === undefined ? undefined : decodeXmlText(inner);
}
