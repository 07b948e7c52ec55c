import { InvalidArgumentError } from '@detkit/core';
import { SafetensorsError } from './errors';

/**
 * Element types of the safetensors format (https://github.com/huggingface/safetensors): `F32`, `F16`,
 * `BF16`, `F64` floats, `I64` (torch's `num_batches_tracked`), `I32`, `I16`, `I8`, `U8`, `BOOL`.
 */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each {@link SafetensorsDtype}. */
export const SAFETENSORS_DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
});

/** One tensor of a safetensors file: its dtype, shape and raw little-endian bytes. */
export interface SafetensorsEntry {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** The element bytes, little-endian, row-major (a view into the file's bytes, not a copy). */
  readonly bytes: Uint8Array;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** Tensors by name, in the order of the header. */
  readonly tensors: ReadonlyMap<string, SafetensorsEntry>;
  /** The header's optional `__metadata__` (string to string). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Typed arrays {@link writeSafetensors} takes as tensor data. */
export type SafetensorsData = Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

/** A tensor to write: dtype, shape and row-major data (`Uint16Array` holds F16 / BF16 bits). */
export interface SafetensorsInput {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: SafetensorsData;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** The largest header the reader accepts (100 MB, as the reference implementation). */
const MAX_HEADER_BYTES = 100_000_000;

function product(shape: readonly number[]): number {
  return shape.reduce((p, q) => p * q, 1);
}

function isDtype(x: unknown): x is SafetensorsDtype {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_SIZE, x);
}

/**
 * Parses a safetensors file: an 8-byte little-endian header length N, N bytes of JSON header
 * (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}`), then the tensors' raw
 * little-endian bytes, offsets relative to the end of the header. Works on any `Uint8Array` (Node's
 * `fs.readFileSync` Buffer, a browser `fetch` → `arrayBuffer()`); the entries are views into it.
 *
 * @param bytes - The whole file.
 * @returns The tensors by name and the metadata.
 * @throws SafetensorsError naming the tensor when the file is malformed: header length past the end, header
 *   not JSON, an unknown dtype, a shape that is not a list of non-negative integers, offsets whose length
 *   does not match dtype and shape, out of bounds, overlapping or leaving holes.
 */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  const op = 'readSafetensors';
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(op, 'bytes', 'must be a Uint8Array (or a Node Buffer)');
  if (bytes.length < 8) throw new SafetensorsError(op, '', `is ${bytes.length} bytes long, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(bytes.length - 8, MAX_HEADER_BYTES))) {
    throw new SafetensorsError(op, '', `header length ${headerLength} exceeds the file (${bytes.length} bytes) or 100 MB`);
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new SafetensorsError(op, '', `header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new SafetensorsError(op, '', 'header is not a JSON object');
  const data = bytes.subarray(8 + n);
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
        throw new SafetensorsError(op, '', '__metadata__ must map strings to strings');
      }
      metadata = { ...(value as Record<string, string>) };
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (info === null || typeof info !== 'object') throw new SafetensorsError(op, name, 'has no {dtype, shape, data_offsets} entry');
    if (!isDtype(info.dtype)) throw new SafetensorsError(op, name, `has unknown dtype ${JSON.stringify(info.dtype)}`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(op, name, `has shape ${JSON.stringify(shape)}, not a list of non-negative integers`);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) || offsets[0] > offsets[1]) {
      throw new SafetensorsError(op, name, `has data_offsets ${JSON.stringify(offsets)}, not [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    const size = product(shape as number[]) * SAFETENSORS_DTYPE_SIZE[info.dtype];
    if (end - begin !== size) throw new SafetensorsError(op, name, `spans ${end - begin} bytes, but ${info.dtype} [${(shape as number[]).join(', ')}] needs ${size}`);
    if (end > data.length) throw new SafetensorsError(op, name, `ends at byte ${end}, past the data (${data.length} bytes)`);
    spans.push([begin, end, name]);
    tensors.set(name, { dtype: info.dtype, shape: [...(shape as number[])], bytes: data.subarray(begin, end) });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== at) throw new SafetensorsError(op, name, begin < at ? `overlaps the tensor before it (begins at ${begin} < ${at})` : `leaves a hole in the data (begins at ${begin}, previous ends at ${at})`);
    at = end;
  }
  if (at !== data.length) throw new SafetensorsError(op, '', `has ${data.length - at} bytes after the last tensor`);
  return { tensors, metadata };
}

/** float16 bits → float32 value. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function copyAligned(bytes: Uint8Array, elementSize: number): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (!LITTLE_ENDIAN && elementSize > 1) {
    for (let i = 0; i < copy.length; i += elementSize) copy.subarray(i, i + elementSize).reverse();
  }
  return copy.buffer;
}

/**
 * The values of a floating-point or integer entry as float32 (F16 and BF16 widened exactly, F64 and integers
 * rounded to the nearest float32). A copy: the file's bytes are not aliased.
 *
 * @throws SafetensorsError for `BOOL` entries.
 */
export function safetensorsToFloat32(entry: SafetensorsEntry, name = ''): Float32Array {
  const buffer = copyAligned(entry.bytes, SAFETENSORS_DTYPE_SIZE[entry.dtype]);
  switch (entry.dtype) {
    case 'F32':
      return new Float32Array(buffer);
    case 'F64':
      return Float32Array.from(new Float64Array(buffer));
    case 'F16':
      return Float32Array.from(new Uint16Array(buffer), halfToFloat);
    case 'BF16': {
      const bits = new Uint16Array(buffer);
      const wide = new Uint32Array(bits.length);
      for (let i = 0; i < bits.length; i++) wide[i] = (bits[i] as number) << 16;
      return new Float32Array(wide.buffer);
    }
    case 'I64':
      return Float32Array.from(new BigInt64Array(buffer), (v) => Number(v));
    case 'I32':
      return Float32Array.from(new Int32Array(buffer));
    case 'I16':
      return Float32Array.from(new Int16Array(buffer));
    case 'I8':
      return Float32Array.from(new Int8Array(buffer));
    case 'U8':
      return Float32Array.from(new Uint8Array(buffer));
    default:
      throw new SafetensorsError('safetensorsToFloat32', name, `has dtype ${entry.dtype}, not a number type`);
  }
}

/** The values of an `I64` entry (torch's int64 buffers, e.g. `num_batches_tracked`). A copy. */
export function safetensorsToBigInt64(entry: SafetensorsEntry, name = ''): BigInt64Array {
  if (entry.dtype !== 'I64') throw new SafetensorsError('safetensorsToBigInt64', name, `has dtype ${entry.dtype}, not I64`);
  return new BigInt64Array(copyAligned(entry.bytes, 8));
}

function checkData(op: string, name: string, t: SafetensorsInput): void {
  if (!isDtype(t.dtype)) throw new InvalidArgumentError(op, `tensors.${name}.dtype`, `must be a safetensors dtype, got ${JSON.stringify(t.dtype)}`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InvalidArgumentError(op, `tensors.${name}.shape`, `must be a list of non-negative integers, got ${JSON.stringify(t.shape)}`);
  }
  const want = product(t.shape) * SAFETENSORS_DTYPE_SIZE[t.dtype];
  if (!ArrayBuffer.isView(t.data) || t.data.byteLength !== want) {
    throw new InvalidArgumentError(op, `tensors.${name}.data`, `must be a typed array of ${want} bytes for ${t.dtype} [${t.shape.join(', ')}], got ${ArrayBuffer.isView(t.data) ? t.data.byteLength : typeof t.data} bytes`);
  }
}

/**
 * Writes tensors as a safetensors file (the inverse of {@link readSafetensors}): tensors in the given order,
 * data contiguous, the JSON header padded with spaces to a multiple of 8 bytes, as the reference writer
 * does. torch reads it with `safetensors.torch.load_file`, or with the ten lines of
 * `scripts/pth-to-safetensors.py`'s reader.
 *
 * @param tensors - Name → {dtype, shape, data}; `data` is row-major, its byte length must match.
 * @param metadata - Optional `__metadata__` strings.
 * @returns The file's bytes.
 * @throws InvalidArgumentError naming the tensor when a dtype, shape or data length is wrong.
 */
export function writeSafetensors(tensors: Readonly<Record<string, SafetensorsInput>> | ReadonlyMap<string, SafetensorsInput>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const op = 'writeSafetensors';
  const entries: [string, SafetensorsInput][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, SafetensorsInput>);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || !Object.values(metadata).every((v) => typeof v === 'string')) {
      throw new InvalidArgumentError(op, 'metadata', 'must map strings to strings');
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new InvalidArgumentError(op, 'tensors', "must not have a tensor named '__metadata__'");
    checkData(op, name, t);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of entries) {
    const size = SAFETENSORS_DTYPE_SIZE[t.dtype];
    const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(raw, at);
    if (!LITTLE_ENDIAN && size > 1) {
      for (let i = at; i < at + raw.length; i += size) out.subarray(i, i + size).reverse();
    }
    at += raw.length;
  }
  return out;
}
