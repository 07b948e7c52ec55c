import { decode as decodePngBytes, encode as encodePngBytes } from 'fast-png';
import jpeg from 'jpeg-js';
import { DataError } from './errors';
import { imageFormat, orientationSwapsAxes, readImageHeader } from './image-header';
import { decodeLowDepthInterlacedPng } from './png-adam7';
import type { RgbImage } from './types';

/**
 * Largest image {@link decodeImage} accepts, in megapixels (jpeg-js's own default guard against
 * decompression bombs). Checked from the file's header before any pixel is decoded, for PNG and JPEG
 * alike: a 100 MP RGB image takes 300 MB decoded.
 */
export const MAX_IMAGE_MEGAPIXELS = 100;

/** Options of {@link decodeImage}. */
export interface DecodeImageOptions {
  /**
   * EXIF orientation (tag 0x0112, values 1-8, of a JPEG's APP1 segment or a PNG's `eXIf` chunk): `'apply'` (default) turns the pixels upright, as
   * image viewers and most labelling tools show them (PIL's `ImageOps.exif_transpose`); `'ignore'`
   * keeps the stored pixels, as torchvision's `CocoDetection` does (PIL without `exif_transpose`).
   */
  orientation?: 'apply' | 'ignore';
  /**
   * The size the annotation gives the image. With `orientation: 'apply'`, when it equals the stored
   * (raw) size and not the upright one (a rotation by 90 degrees, orientations 5-8, on a non-square
   * image), the file was annotated on raw pixels and they are kept. Mirrors and 180-degree turns
   * (2-4) keep the size, so they cannot be told apart this way and are applied.
   */
  expectedSize?: { readonly width: number; readonly height: number };
}

/** Expands 1, 2 or 4-bit samples to one byte each, scaled to 0..255 (or kept as indices when `scale` is false). */
function unpackLowDepth(data: ArrayLike<number>, width: number, height: number, channels: number, depth: number, scale: boolean): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const max = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * channels; i++) {
      const bit = i * depth;
      const byte = data[y * rowBytes + (bit >> 3)] as number;
      const v = (byte >> (8 - depth - (bit & 7))) & max;
      out[y * width * channels + i] = scale ? Math.round((v * 255) / max) : v;
    }
  }
  return out;
}

function pngToRgb(bytes: Uint8Array): RgbImage {
  // fast-png cannot de-interlace 1, 2 or 4-bit Adam7 files (png-adam7.ts); every other PNG is its.
  const png = decodeLowDepthInterlacedPng(bytes) ?? decodePngBytes(bytes);
  const { width, height } = png;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  if (png.palette) {
    // Indexed colour: look each index up (tRNS alpha, when present, is dropped like any alpha).
    const idx = png.depth < 8 ? unpackLowDepth(png.data, width, height, 1, png.depth, false) : png.data;
    for (let i = 0; i < n; i++) {
      const c = png.palette[idx[i] as number];
      if (!c) throw new Error(`palette index ${idx[i] as number} is beyond the ${png.palette.length}-entry palette`);
      out[3 * i] = c[0] as number;
      out[3 * i + 1] = c[1] as number;
      out[3 * i + 2] = c[2] as number;
    }
    return { width, height, data: out };
  }
  const channels = png.channels;
  const data: ArrayLike<number> = png.depth < 8 ? unpackLowDepth(png.data, width, height, channels, png.depth, true) : png.data;
  // 16-bit samples keep their high byte (libpng's png_set_strip_16, Pillow's RGB;16B unpacker).
  const shift = png.depth === 16 ? 8 : 0;
  // Grey (1), grey + alpha (2), RGB (3), RGBA (4): alpha is dropped, not composited (PIL's convert('RGB')).
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
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_IMAGE_MEGAPIXELS, maxMemoryUsageInMB: 2048 });
  return { width: img.width, height: img.height, data: img.data };
}

/**
 * Applies an EXIF orientation (1-8) to RGB pixels, giving the upright image; the same pixels as PIL's
 * `ImageOps.exif_transpose`: 2 mirror, 3 rotate 180, 4 flip vertically, 5 transpose, 6 rotate 90
 * clockwise, 7 transverse, 8 rotate 90 counter-clockwise. 5-8 swap width and height.
 */
export function applyOrientation(image: RgbImage, orientation: number): RgbImage {
  if (!(orientation >= 2 && orientation <= 8)) return image;
  const { width: w, height: h, data } = image;
  const swap = orientationSwapsAxes(orientation);
  const ow = swap ? h : w, oh = swap ? w : h;
  const out = new Uint8Array(data.length);
  // For each output pixel (ox, oy), the stored pixel (ix, iy) it shows.
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let ix: number, iy: number;
      switch (orientation) {
        case 2: ix = w - 1 - ox; iy = oy; break;
        case 3: ix = w - 1 - ox; iy = h - 1 - oy; break;
        case 4: ix = ox; iy = h - 1 - oy; break;
        case 5: ix = oy; iy = ox; break;
        case 6: ix = oy; iy = h - 1 - ox; break;
        case 7: ix = w - 1 - oy; iy = h - 1 - ox; break;
        default: ix = w - 1 - oy; iy = ox; break; // 8
      }
      const o = 3 * (oy * ow + ox), i = 3 * (iy * w + ix);
      out[o] = data[i] as number;
      out[o + 1] = data[i + 1] as number;
      out[o + 2] = data[i + 2] as number;
    }
  }
  return { width: ow, height: oh, data: out };
}

/**
 * Decodes PNG or JPEG bytes to 8-bit RGB, in Node and in browsers alike (pure JavaScript: `fast-png`
 * and `jpeg-js`, so the pixels are identical everywhere).
 *
 * - PNG: every colour type and bit depth (grey 1/2/4/8/16, grey + alpha, RGB 8/16, RGBA 8/16,
 *   palette 1/2/4/8 with or without tRNS, interlaced or not). Grey is replicated to R, G, B; alpha is
 *   dropped, not composited (PIL's `convert('RGB')`); 16-bit samples keep their high byte.
 * - JPEG: baseline and progressive, grey or colour.
 * - EXIF orientation (a JPEG's APP1 Exif segment, a PNG's `eXIf` chunk) applied by default (see
 *   {@link DecodeImageOptions}).
 * - Size: the header's width x height must not exceed {@link MAX_IMAGE_MEGAPIXELS}; this is checked
 *   before decoding, so a small file that claims a huge image costs nothing.
 *
 * @param bytes - The encoded file.
 * @param file - Name used in errors.
 * @throws {@link DataError} (`'bad-image'`) naming `file` when the bytes are neither PNG nor JPEG,
 *   claim more than {@link MAX_IMAGE_MEGAPIXELS}, or cannot be decoded.
 */
export function decodeImage(bytes: Uint8Array, file = '<bytes>', options: DecodeImageOptions = {}): RgbImage {
  const format = imageFormat(bytes);
  if (format === null) {
    throw new DataError({ file, record: '', kind: 'bad-image', problem: 'is neither a PNG nor a JPEG (unrecognised signature)' });
  }
  const header = readImageHeader(bytes);
  if (header && header.width * header.height > MAX_IMAGE_MEGAPIXELS * 1e6) {
    const mp = (header.width * header.height) / 1e6;
    throw new DataError({
      file,
      record: '',
      kind: 'bad-image',
      problem: `claims ${header.width} x ${header.height} pixels (${mp.toFixed(1)} megapixels), more than MAX_IMAGE_MEGAPIXELS = ${MAX_IMAGE_MEGAPIXELS}; not decoded`,
    });
  }
  let img: RgbImage;
  try {
    img = format === 'png' ? pngToRgb(bytes) : jpegToRgb(bytes);
    if (!(img.width > 0 && img.height > 0)) throw new Error(`decoded to ${img.width} x ${img.height} pixels`);
  } catch (cause) {
    throw new DataError({ file, record: '', kind: 'bad-image', problem: `could not be decoded as ${format.toUpperCase()} (${cause instanceof Error ? cause.message : String(cause)})` }, { cause });
  }
  const orientation = header?.orientation ?? 1;
  if (orientation === 1 || options.orientation === 'ignore') return img;
  const e = options.expectedSize;
  if (e && orientationSwapsAxes(orientation) && e.width === img.width && e.height === img.height && img.width !== img.height) {
    return img; // annotated on the stored pixels (torchvision's CocoDetection does this)
  }
  return applyOrientation(img, orientation);
}

/**
 * Encodes an RGB image as an 8-bit RGB PNG (`fast-png`, deflate level 6). Deterministic: the same pixels
 * give the same bytes.
 */
export function encodePng(image: RgbImage): Uint8Array {
  return encodePngBytes({ width: image.width, height: image.height, data: image.data, channels: 3, depth: 8 }, { zlib: { level: 6 } });
}
