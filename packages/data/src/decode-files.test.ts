// decodeImage on files written by real encoders (Pillow / libjpeg-turbo, netpbm / libpng): every PNG
// colour type and depth, JPEG variants and the eight EXIF orientations; the megapixel limit for PNG.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { describeEachBackend } from '@detkit/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, MAX_IMAGE_MEGAPIXELS, applyOrientation, createLoader, decodeImage, readImageHeader, type DetectionSample } from './index';
import { loadImageFile, readImageInfo } from './node/index';

const dir = path.join(import.meta.dirname, '..', 'fixtures', 'images');
interface Entry { file: string; width: number; height: number; expected: string; exact: boolean; note: string; tolerance?: { mean: number; max: number } }
const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { images: Entry[] };
const bytes = (f: string) => new Uint8Array(readFileSync(path.join(dir, f)));

/** Mean and maximum absolute difference of two byte arrays. */
function diff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  let sum = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

describe('decodeImage on files from real encoders', () => {
  for (const e of manifest.images) {
    it(`${e.file}: ${e.note}`, async () => {
      const img = await loadImageFile(path.join(dir, e.file));
      expect([img.width, img.height]).toEqual([e.width, e.height]);
      const want = bytes(e.expected);
      expect(img.data.length).toBe(want.length);
      if (e.exact) {
        expect(Buffer.from(img.data).equals(Buffer.from(want))).toBe(true);
      } else {
        // jpeg-js vs libjpeg-turbo: the tolerance the generator states for this file (IDCT, and chroma
        // upsampling for 4:2:0). A wrong orientation of these images differs by ~100 on average.
        const d = diff(img.data, want);
        expect(d.mean).toBeLessThanOrEqual(e.tolerance!.mean);
        expect(d.max).toBeLessThanOrEqual(e.tolerance!.max);
      }
    });
  }

  it("a PNG's eXIf orientation is read from its header and can be ignored", () => {
    expect(readImageHeader(bytes('orient6.png'))).toEqual({ format: 'png', width: 80, height: 48, orientation: 6 });
    expect(readImageHeader(bytes('rgb8.png'))?.orientation).toBe(1);
    const raw = decodeImage(bytes('orient6.png'), 'o.png', { orientation: 'ignore' });
    expect([raw.width, raw.height]).toEqual([80, 48]);
  });

  it('a truncated or corrupt low-depth interlaced PNG is a DataError bad-image naming the file', () => {
    const whole = bytes('palette4-interlaced-21x12.png');
    const caught = (b: Uint8Array) => {
      try {
        decodeImage(b, 'p.png');
      } catch (err) {
        return err as DataError;
      }
      return undefined;
    };
    for (const cut of [whole.subarray(0, 60), whole.subarray(0, whole.length - 20)]) {
      const e = caught(cut);
      expect(e).toBeInstanceOf(DataError);
      expect([e!.kind, e!.file]).toEqual(['bad-image', 'p.png']);
    }
  });

  it('orientations 5-8 swap the size; the raw pixels are kept when the annotation gives the raw size', () => {
    for (let o = 1; o <= 8; o++) {
      const b = bytes(`orient${o}.jpg`);
      expect(readImageHeader(b)).toEqual({ format: 'jpeg', width: 80, height: 48, orientation: o });
      const upright = decodeImage(b);
      expect([upright.width, upright.height]).toEqual(o >= 5 ? [48, 80] : [80, 48]);
      const raw = decodeImage(b, 'x.jpg', { orientation: 'ignore' });
      expect([raw.width, raw.height]).toEqual([80, 48]);
      // Expected size = raw size: for 5-8 (size tells them apart) the raw pixels are kept.
      const asRaw = decodeImage(b, 'x.jpg', { expectedSize: { width: 80, height: 48 } });
      expect(asRaw.data).toEqual(o >= 5 ? raw.data : upright.data);
      // Expected size = upright size: oriented.
      expect(decodeImage(b, 'x.jpg', { expectedSize: { width: upright.width, height: upright.height } }).data).toEqual(upright.data);
      expect(applyOrientation(raw, o).data).toEqual(upright.data);
    }
  });

  it('a little-endian (II) EXIF block is read too', () => {
    // APP1: 'Exif\0\0', TIFF 'II' 42, IFD0 at 8 with one entry: tag 0x0112, SHORT, count 1, value 6.
    const tiff = [0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
    const payload = [...Array.from('Exif\0\0', (c) => c.charCodeAt(0)), ...tiff];
    const app1 = [0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 255, ...payload];
    const base = bytes('rgb444.jpg');
    const b = new Uint8Array([0xff, 0xd8, ...app1, ...base.subarray(2)]);
    expect(readImageHeader(b)?.orientation).toBe(6);
    expect(decodeImage(b).data).toEqual(decodeImage(bytes('orient6.jpg')).data);
  });
});

describe('MAX_IMAGE_MEGAPIXELS', () => {
  let tmp = '';
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'detkit-bomb-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  /** A valid 1-bit grey PNG of side x side pixels, all black: tiny on disk, side^2 pixels decoded. */
  function bombPng(side: number): Uint8Array {
    const crc = (buf: Uint8Array) => {
      let c = ~0;
      for (const byte of buf) {
        c ^= byte;
        for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
      }
      return ~c >>> 0;
    };
    const chunk = (type: string, data: Uint8Array) => {
      const out = new Uint8Array(12 + data.length);
      const view = new DataView(out.buffer);
      view.setUint32(0, data.length);
      out.set(Array.from(type, (c) => c.charCodeAt(0)), 4);
      out.set(data, 8);
      view.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
      return out;
    };
    const ihdr = new Uint8Array(13);
    new DataView(ihdr.buffer).setUint32(0, side);
    new DataView(ihdr.buffer).setUint32(4, side);
    ihdr.set([1, 0, 0, 0, 0], 8); // depth 1, grey, deflate, no filter, no interlace
    const raw = new Uint8Array(side * (1 + Math.ceil(side / 8))); // filter byte 0 + zero bits per row
    const idat = deflateSync(raw, { level: 9 });
    const sig = [137, 80, 78, 71, 13, 10, 26, 10];
    const parts = [new Uint8Array(sig), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) out.set(p, (o += p.length) - p.length);
    return out;
  }

  it('a small PNG that claims 11000 x 11000 is refused from its header, naming the file (regression: it was decoded in full)', async () => {
    const bomb = bombPng(11000);
    expect(bomb.length).toBeLessThan(200_000);
    expect(readImageHeader(bomb)).toEqual({ format: 'png', width: 11000, height: 11000, orientation: 1 });
    const file = path.join(tmp, 'bomb.png');
    await writeFile(file, bomb);
    const e = await loadImageFile(file).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).kind).toBe('bad-image');
    expect((e as DataError).file).toBe(file);
    expect((e as DataError).message).toBe(`data: ${file}: claims 11000 x 11000 pixels (121.0 megapixels), more than MAX_IMAGE_MEGAPIXELS = ${MAX_IMAGE_MEGAPIXELS}; not decoded`);
    expect(await readImageInfo(file)).toEqual({ format: 'png', width: 11000, height: 11000, orientation: 1 });
    // Just under the limit still decodes (a 1000 x 1000 file of the same kind).
    expect(decodeImage(bombPng(1000)).width).toBe(1000);
  });

  it('a JPEG header beyond the limit is refused before decoding too', () => {
    const b = bytes('rgb444.jpg').slice();
    // Patch the frame header's height and width (SOF0 at the first 0xFFC0) to 20000 x 20000.
    const i = b.findIndex((v, k) => v === 0xff && b[k + 1] === 0xc0);
    b.set([20000 >> 8, 20000 & 255, 20000 >> 8, 20000 & 255], i + 5);
    expect(() => decodeImage(b, 'big.jpg')).toThrow(/big\.jpg: claims 20000 x 20000 pixels \(400\.0 megapixels\)/);
  });
});

describeEachBackend('the loader and EXIF orientation', () => {
  const raw = bytes('orient6.jpg'); // stored 80 x 48, shown upright as 48 x 80
  const sample = (width: number, height: number): DetectionSample => ({
    id: `${width}x${height}`,
    image: path.join(dir, 'orient6.jpg'),
    width,
    height,
    boxes: Float32Array.from([1, 1, 20, 20]),
    labels: Int32Array.from([0]),
    iscrowd: new Uint8Array(1),
    difficult: new Uint8Array(1),
  });
  it('an annotation of the upright size gets upright pixels, one of the stored size gets the stored pixels', async () => {
    const run = async (s: DetectionSample) => {
      const loader = createLoader({ source: [s], imageSize: [s.height, s.width], batchSize: 1, loadImage: loadImageFile, normalize: false });
      for await (const b of loader.epoch(0)) {
        const px = Uint8Array.from(b.images.dataSync(), (v) => Math.round(v * 255));
        b.dispose();
        return px;
      }
      throw new Error('no batch');
    };
    expect(await run(sample(48, 80))).toEqual(decodeImage(raw).data);
    expect(await run(sample(80, 48))).toEqual(decodeImage(raw, 'x', { orientation: 'ignore' }).data);
    // A size that is neither: the upright image is checked against it, a DataError naming the file.
    const e = await run(sample(50, 50)).catch((err: unknown) => err);
    expect(e).toMatchObject({ kind: 'bad-image', file: path.join(dir, 'orient6.jpg'), record: 'sample "50x50"' });
  });
});
