import { decode as decodePngBytes, encode as encodePngBytes, convertIndexedToRgb, hasPngSignature } from 'fast-png';
import jpeg from 'jpeg-js';
import { DataError } from './errors';
import type { RgbImage } from './types';

/** Largest image decodeImage accepts, in megapixels (jpeg-js's guard against decompression bombs). */
export const MAX_IMAGE_MEGAPIXELS = 100;

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Image format of encoded bytes, from their signature; null when neither PNG nor JPEG. */
export function imageFormat(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (hasPngSignature(bytes)) return 'png';
  if (isJpeg(bytes)) return 'jpeg';
  return null;
}

/** Expands 1, 2 or 4-bit samples to one byte each, scaled to 0..255. */
function unpackLowDepth(data: ArrayLike<number>, width: number, height: number, channels: number, depth: number): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const max = (1 << depth) - 1;
  const mask = max;
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * channels; i++) {
      const bit = i * depth;
      const byte = data[y * rowBytes + (bit >> 3)] as number;
      const v = (byte >> (8 - depth - (bit & 7))) & mask;
      out[y * width * channels + i] = Math.round((v * 255) / max);
    }
  }
  return out;
}

function pngToRgb(bytes: Uint8Array): RgbImage {
  const png = decodePngBytes(bytes);
  const { width, height } = png;
  let channels = png.channels;
  let data: ArrayLike<number>;
  let depth: number = png.depth;
  if (png.palette) {
    data = convertIndexedToRgb(png);
    channels = (png.palette[0] ?? [0, 0, 0]).length;
    depth = 8;
  } else if (depth < 8) {
    data = unpackLowDepth(png.data, width, height, channels, depth);
    depth = 8;
  } else {
    data = png.data;
  }
  const shift = depth === 16 ? 8 : 0;
  const out = new Uint8Array(width * height * 3);
  const n = width * height;
  // Grey (1), grey + alpha (2), RGB (3), RGBA (4): alpha is dropped, not composited.
  for (let i = 0; i < n; i++) {
    if (channels >= 3) {
      out[3 * i] = (data[channels * i] as number) >> shift;
      out[3 * i + 1] = (data[channels * i + 1] as number) >> shift;
      out[3 * i + 2] = (data[channels * i + 2] as number) >> shift;
    } else {
      const g = (data[channels * i] as number) >> shift;
      out[3 * i] = g;
      out[3 * i + 1] = g;
      out[3 * i + 2] = g;
    }
  }
  return { width, height, data: out };
}

function jpegToRgb(bytes: Uint8Array): RgbImage {
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_IMAGE_MEGAPIXELS });
  return { width: img.width, height: img.height, data: img.data };
}

/**
 * Decodes PNG or JPEG bytes to 8-bit RGB, in Node and in browsers alike (pure JavaScript: `fast-png`
 * and `jpeg-js`, so the pixels are identical everywhere). Grey images are expanded to RGB, alpha is
 * dropped, 16-bit PNG samples keep their high byte, palette images are expanded.
 *
 * @param bytes - The encoded file.
 * @param file - Name used in errors.
 * @throws {@link DataError} (`'bad-image'`) naming `file` when the bytes are neither PNG nor JPEG or
 *   cannot be decoded.
 */
export function decodeImage(bytes: Uint8Array, file = '<bytes>'): RgbImage {
  const format = imageFormat(bytes);
  if (format === null) {
    throw new DataError({ file, record: '', kind: 'bad-image', problem: 'is neither a PNG nor a JPEG (unrecognised signature)' });
  }
  try {
    const img = format === 'png' ? pngToRgb(bytes) : jpegToRgb(bytes);
    if (!(img.width > 0 && img.height > 0)) throw new Error(`decoded to ${img.width} x ${img.height} pixels`);
    return img;
  } catch (cause) {
    throw new DataError({ file, record: '', kind: 'bad-image', problem: `could not be decoded as ${format.toUpperCase()} (${cause instanceof Error ? cause.message : String(cause)})` }, { cause });
  }
}

/**
 * Encodes an RGB image as an 8-bit RGB PNG (`fast-png`, deflate level 6). Deterministic: the same pixels
 * give the same bytes.
 */
export function encodePng(image: RgbImage): Uint8Array {
  return encodePngBytes({ width: image.width, height: image.height, data: image.data, channels: 3, depth: 8 }, { zlib: { level: 6 } });
}
