// decodeImage / encodePng: PNG and JPEG through maintained pure-JS codecs, in any JavaScript runtime.
import { encode as encodePngRaw } from 'fast-png';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { DataError, decodeImage, encodePng, imageFormat } from './index';

const w = 7, h = 5;
const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);

describe('decodeImage', () => {
  it('PNG round trip is exact and deterministic', () => {
    const bytes = encodePng({ width: w, height: h, data: rgb });
    expect(imageFormat(bytes)).toBe('png');
    expect(encodePng({ width: w, height: h, data: rgb })).toEqual(bytes);
    const img = decodeImage(bytes);
    expect([img.width, img.height]).toEqual([w, h]);
    expect(img.data).toEqual(rgb);
  });

  it('grey, grey + alpha, RGBA and 16-bit PNGs become RGB', () => {
    const grey = Uint8Array.from({ length: w * h }, (_, i) => i * 7);
    expect(decodeImage(encodePngRaw({ width: w, height: h, data: grey, channels: 1, depth: 8 })).data).toEqual(Uint8Array.from({ length: w * h * 3 }, (_, i) => grey[Math.floor(i / 3)]!));
    const ga = Uint8Array.from({ length: w * h * 2 }, (_, i) => (i % 2 ? 255 : i));
    expect(decodeImage(encodePngRaw({ width: w, height: h, data: ga, channels: 2, depth: 8 })).data[3]).toBe(2);
    const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 128 : rgb[Math.floor(i / 4) * 3 + (i % 4)]!));
    expect(decodeImage(encodePngRaw({ width: w, height: h, data: rgba, channels: 4, depth: 8 })).data).toEqual(rgb);
    const deep = Uint16Array.from(rgb, (v) => v * 256 + 255 - v); // high byte v, low byte noise
    expect(decodeImage(encodePngRaw({ width: w, height: h, data: deep, channels: 3, depth: 16 })).data).toEqual(rgb);
  });

  it('JPEG decodes to RGB close to the source (lossy)', () => {
    const flat = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 4) };
    for (let i = 0; i < 256; i++) flat.data.set([200, 40, 90, 255], i * 4);
    const bytes = new Uint8Array(jpeg.encode(flat, 95).data);
    expect(imageFormat(bytes)).toBe('jpeg');
    const img = decodeImage(bytes);
    expect([img.width, img.height, img.data.length]).toEqual([16, 16, 16 * 16 * 3]);
    for (let i = 0; i < 256; i++) {
      expect(Math.abs(img.data[3 * i]! - 200)).toBeLessThanOrEqual(3);
      expect(Math.abs(img.data[3 * i + 1]! - 40)).toBeLessThanOrEqual(3);
      expect(Math.abs(img.data[3 * i + 2]! - 90)).toBeLessThanOrEqual(3);
    }
  });

  it('bytes that are neither, or a truncated file: DataError bad-image naming the file', () => {
    let e = (() => {
      try {
        decodeImage(new Uint8Array([1, 2, 3, 4]), 'x.png');
      } catch (err) {
        return err as DataError;
      }
    })();
    expect(e).toBeInstanceOf(DataError);
    expect([e!.kind, e!.file]).toEqual(['bad-image', 'x.png']);
    const png = encodePng({ width: w, height: h, data: rgb });
    e = (() => {
      try {
        decodeImage(png.subarray(0, 40), 'cut.png');
      } catch (err) {
        return err as DataError;
      }
    })();
    expect(e).toBeInstanceOf(DataError);
    expect(e!.message).toMatch(/^data: cut\.png: could not be decoded as PNG/);
  });
});
