// Image type by magic bytes alone: PNG, JPEG and WebP in; everything else, and truncated
// headers, out.
import { describe, expect, it } from 'vitest';
import { sniffImage } from '../../src/media/sniff.js';

const bytes = (...parts: (number[] | string)[]): Uint8Array =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** The start of a real PNG: signature, then the IHDR chunk of a 1×1 image. */
const PNG_FILE = bytes(PNG_SIG, [0, 0, 0, 13], 'IHDR', [0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
/** The start of a real JPEG (JFIF). */
const JPEG_FILE = bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF', [0x00, 0x01, 0x01]);
/** The start of a real WebP: RIFF, little-endian size, WEBP, then a VP8 chunk. */
const WEBP_FILE = bytes('RIFF', [0x24, 0x00, 0x00, 0x00], 'WEBPVP8 ', [0x18, 0, 0, 0]);

describe('sniffImage', () => {
  it('recognises PNG', () => {
    expect(sniffImage(PNG_FILE)).toEqual({ mime: 'image/png', extension: 'png' });
  });

  it('recognises JPEG (JFIF and Exif)', () => {
    expect(sniffImage(JPEG_FILE)).toEqual({ mime: 'image/jpeg', extension: 'jpg' });
    expect(sniffImage(bytes([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x10], 'Exif'))).toEqual({
      mime: 'image/jpeg',
      extension: 'jpg',
    });
  });

  it('recognises WebP', () => {
    expect(sniffImage(WEBP_FILE)).toEqual({ mime: 'image/webp', extension: 'webp' });
  });

  it('recognises a header exactly as long as its signature', () => {
    expect(sniffImage(bytes(PNG_SIG))?.mime).toBe('image/png');
    expect(sniffImage(bytes([0xff, 0xd8, 0xff]))?.mime).toBe('image/jpeg');
    expect(sniffImage(bytes('RIFF', [0, 0, 0, 0], 'WEBP'))?.mime).toBe('image/webp');
  });

  it('works on a view into a larger buffer', () => {
    const big = new Uint8Array(64);
    big.set(PNG_FILE, 16);
    expect(sniffImage(big.subarray(16))?.mime).toBe('image/png');
  });

  it.each([
    ['GIF89a', bytes('GIF89a', [1, 0, 1, 0, 0x80, 0, 0])],
    ['GIF87a', bytes('GIF87a', [1, 0, 1, 0, 0x80, 0, 0])],
    ['plain text', bytes('hello, this is not an image at all')],
    ['HTML', bytes('<!DOCTYPE html><html><body>cat.png</body></html>')],
    ['a RIFF that is not WebP (WAVE)', bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt ')],
    ['BMP', bytes('BM', [0x3a, 0, 0, 0, 0, 0, 0, 0])],
    ['an empty file', new Uint8Array(0)],
    ['PNG-looking text ("PNG" without the binary bytes)', bytes('PNG\r\n\x1a\n and more')],
    ['a PNG signature with one byte wrong', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0b], 'IHDR')],
  ])('refuses %s', (_name, data) => {
    expect(sniffImage(data)).toBeUndefined();
  });

  it.each([
    ['PNG', bytes(PNG_SIG.slice(0, 7))],
    ['PNG (4 bytes)', bytes(PNG_SIG.slice(0, 4))],
    ['JPEG', bytes([0xff, 0xd8])],
    ['WebP (RIFF and size only)', bytes('RIFF', [0x24, 0, 0, 0])],
    ['WebP (one byte short)', bytes('RIFF', [0x24, 0, 0, 0], 'WEB')],
  ])('refuses a truncated %s header', (_name, data) => {
    expect(sniffImage(data)).toBeUndefined();
  });

  it('refuses a text file named like a PNG: only the bytes decide', () => {
    // What a member uploads as cat.png with content type image/png; the bytes are text.
    const catPng = bytes('I am text pretending to be cat.png\n');
    expect(sniffImage(catPng)).toBeUndefined();
  });

  it('a JPEG named .png is still a JPEG', () => {
    expect(sniffImage(JPEG_FILE)?.extension).toBe('jpg');
  });
});
