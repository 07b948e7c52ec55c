import { readFile } from 'node:fs/promises';
import { decodeImage } from '../decode-image';
import { DataError } from '../errors';
import type { RgbImage } from '../types';

/**
 * Reads and decodes a PNG or JPEG file (Node). Pass it as the loader's `loadImage` for samples read
 * from disk.
 *
 * @throws {@link DataError} `'missing-image'` naming the path when the file cannot be read,
 *   `'bad-image'` when it does not decode.
 */
export async function loadImageFile(path: string): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new DataError({ file: path, record: '', kind: 'missing-image', problem: `cannot be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})` }, { cause });
  }
  return decodeImage(bytes, path);
}
