import { DataError } from './errors';
import { decodeImage, type DecodeImageOptions } from './decode-image';
import type { RgbImage } from './types';

/**
 * Reads the image at a path or URL. The loader calls it for samples whose `image` is a string, passing
 * the annotation's size as `options.expectedSize` (see {@link DecodeImageOptions} for what it decides).
 */
export type ImageLoader = (source: string, options?: DecodeImageOptions) => Promise<RgbImage>;

/**
 * The default {@link ImageLoader}: `fetch(url)` then {@link decodeImage}. Works in browsers and for
 * http(s) URLs in Node; for files in Node use `loadImageFile` from `@detkit/data/node`.
 *
 * @throws {@link DataError} `'missing-image'` when the request fails or answers with an error status,
 *   `'bad-image'` when the bytes do not decode.
 */
export async function fetchImage(url: string, options: DecodeImageOptions = {}): Promise<RgbImage> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (cause) {
    const hint = /^[a-z][a-z0-9+.-]*:/i.test(url) ? '' : " (in Node, pass loadImage: loadImageFile from '@detkit/data/node' to read files)";
    throw new DataError({ file: url, record: '', kind: 'missing-image', problem: `could not be fetched: ${cause instanceof Error ? cause.message : String(cause)}${hint}` }, { cause });
  }
  if (!res.ok) throw new DataError({ file: url, record: '', kind: 'missing-image', problem: `could not be fetched: HTTP ${res.status}` });
  return decodeImage(new Uint8Array(await res.arrayBuffer()), url, options);
}
