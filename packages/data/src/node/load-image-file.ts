import { open, readFile } from 'node:fs/promises';
import { decodeImage, type DecodeImageOptions } from '../decode-image';
import { DataError } from '../errors';
import { readImageHeader, type ImageHeader } from '../image-header';
import type { RgbImage } from '../types';

function cannotRead(path: string, cause: unknown): DataError {
  return new DataError({ file: path, record: '', kind: 'missing-image', problem: `cannot be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})` }, { cause });
}

/**
 * Reads and decodes a PNG or JPEG file (Node) with {@link decodeImage}. Pass it as the loader's
 * `loadImage` for samples read from disk.
 *
 * @throws {@link DataError} `'missing-image'` naming the path when the file cannot be read,
 *   `'bad-image'` when it does not decode or claims more than `MAX_IMAGE_MEGAPIXELS`.
 */
export async function loadImageFile(path: string, options: DecodeImageOptions = {}): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw cannotRead(path, cause);
  }
  return decodeImage(bytes, path, options);
}

/** Bytes {@link readImageInfo} reads first; a JPEG whose frame header lies further (a large EXIF thumbnail) is read whole. */
const HEADER_BYTES = 1 << 16;

/**
 * A file's format, stored size and EXIF orientation, from its first bytes (Node): cheap enough to run
 * over a whole data set (e.g. to choose an input size from the images). The upright size swaps width
 * and height for orientations 5-8.
 *
 * @throws {@link DataError} `'missing-image'` when the file cannot be read, `'bad-image'` when it is
 *   neither PNG nor JPEG or has no readable header.
 */
export async function readImageInfo(path: string): Promise<ImageHeader> {
  let head: Uint8Array;
  try {
    const fh = await open(path, 'r');
    try {
      const buf = new Uint8Array(HEADER_BYTES);
      const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
    const info = readImageHeader(head);
    if (info || head.length < HEADER_BYTES) {
      if (info) return info;
    } else {
      const whole = readImageHeader(await readFile(path));
      if (whole) return whole;
    }
  } catch (cause) {
    throw cannotRead(path, cause);
  }
  throw new DataError({ file: path, record: '', kind: 'bad-image', problem: 'is neither a PNG nor a JPEG with a readable header' });
}
