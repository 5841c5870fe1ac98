import { deflateSync, crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isActiveContentType } from '../http/content-type';
import { checkedContentType, SNIFF_BYTES } from './content-type-check';

// Real files' bytes, built here: a valid 2x2 PNG, a GIF, a PDF, a ZIP with one stored entry.

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function png(): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(2, 0);
  header.writeUInt32BE(2, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 255, 255, 255]);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', Buffer.alloc(0))]);
}

const GIF = Buffer.from('47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b', 'hex');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const HTML = Buffer.from('<!doctype html><html><body><script>fetch("/steal?c=" + document.cookie)</script></body></html>\n');

/** A ZIP archive holding one stored (uncompressed) entry. */
function zip(name: string, content: Buffer): Buffer {
  const file = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc32(content), 14);
  local.writeUInt32LE(content.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(file.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc32(content), 16);
  central.writeUInt32LE(content.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(file.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + file.length, 12);
  end.writeUInt32LE(30 + file.length + content.length, 16);
  return Buffer.concat([local, file, content, central, file, end]);
}

describe('checkedContentType(head, claimed)', () => {
  it.each([
    ['a PNG claimed as image/png', png(), 'image/png', 'image/png'],
    ['a PDF claimed as application/pdf', PDF, 'application/pdf', 'application/pdf'],
    ['a GIF claimed as image/gif', GIF, 'image/gif', 'image/gif'],
    ['CSV text claimed as text/csv', Buffer.from('id,name\n1,"été"\n'), 'text/csv', 'text/csv'],
    ['JSON claimed as application/json', Buffer.from('{"a":[1,2]}'), 'application/json', 'application/json'],
    ['an SVG (XML) claimed as image/svg+xml', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml', 'image/svg+xml'],
    ['a ZIP claimed as a .docx (a ZIP inside)', zip('a.txt', Buffer.from('hi')), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['bytes of a type the signature table cannot check', Buffer.from('anything at all'), 'application/x-my-format', 'application/x-my-format'],
  ])('keeps the claim for %s', async (_, bytes, claimed, expected) => {
    expect(await checkedContentType(bytes, claimed)).toBe(expected);
  });

  it.each([
    ['a GIF claimed as image/jpeg', GIF, 'image/jpeg', 'image/gif'],
    ['a PNG claimed as text/plain', png(), 'text/plain', 'image/png'],
    ['a PDF claimed as text/html', PDF, 'text/html', 'application/pdf'],
    ['a PNG with no claim', png(), undefined, 'image/png'],
    ['a ZIP claimed as image/png', zip('a.txt', Buffer.from('hi')), 'image/png', 'application/zip'],
  ])('stores the type the bytes show for %s', async (_, bytes, claimed, expected) => {
    expect(await checkedContentType(bytes, claimed)).toBe(expected);
  });

  it.each([
    ['HTML claimed as image/png', HTML, 'image/png'],
    ['HTML claimed as application/pdf', HTML, 'application/pdf'],
    ['binary bytes claimed as text/plain', Buffer.from([0x00, 0x01, 0x02, 0x41, 0x42, 0xff]), 'text/plain'],
    ['text with no claim', Buffer.from('hello'), undefined],
    ['a claim that is not a media type', Buffer.from('hello'), 'not a type'],
    ['an empty file claimed as image/png', Buffer.alloc(0), 'image/png'],
  ])('stores application/octet-stream for %s', async (_, bytes, claimed) => {
    expect(await checkedContentType(bytes, claimed)).toBe('application/octet-stream');
  });

  it('never lets HTML named as an image through as an image the active-content guard would trust', async () => {
    const type = await checkedContentType(HTML, 'image/png');
    expect(type).not.toBe('image/png');
    expect(isActiveContentType(type)).toBe(false);
    // Claimed as HTML it stays HTML, which the guard does see as active.
    expect(isActiveContentType(await checkedContentType(HTML, 'text/html'))).toBe(true);
  });

  it('looks at the first SNIFF_BYTES only, and ignores parameters and case of the claim', async () => {
    const padded = Buffer.concat([Buffer.alloc(SNIFF_BYTES, 0x41), png()]);
    expect(await checkedContentType(padded, 'text/plain')).toBe('text/plain');
    expect(await checkedContentType(png(), 'Image/PNG; foo=bar')).toBe('image/png');
  });
});
