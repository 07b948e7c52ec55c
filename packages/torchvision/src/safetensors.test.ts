import { describe, expect, it } from 'vitest';
import { DetkitError } from '@detkit/core';
import { SafetensorsError } from './errors';
import { readSafetensors, safetensorsToBigInt64, safetensorsToFloat32, writeSafetensors } from './safetensors';

/** A file built byte by byte as the format describes it: u64 LE header length, JSON header, raw LE data. */
function handMade(header: object, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  out[0] = json.length & 0xff;
  out[1] = json.length >> 8;
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectSafetensorsError(fn: () => unknown, text: RegExp, tensor?: string) {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SafetensorsError);
  expect(DetkitError.isInstance(caught)).toBe(true);
  expect((caught as Error).message).toMatch(text);
  if (tensor !== undefined) expect((caught as SafetensorsError).tensor).toBe(tensor);
}

describe('readSafetensors', () => {
  it('reads a hand-made file: F32, F16, BF16, I64 and metadata', () => {
    // F32 1.0 = 00 00 80 3f, -2.5 = 00 00 20 c0; F16 1.0 = 3c00, -2 = c000, 65504 = 7bff, 2^-24 = 0001;
    // BF16 1.0 = 3f80; I64 7 = 07 00 .. 00.
    const bytes = handMade(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        h: { dtype: 'F16', shape: [2, 2], data_offsets: [8, 16] },
        b: { dtype: 'BF16', shape: [1], data_offsets: [16, 18] },
        n: { dtype: 'I64', shape: [], data_offsets: [18, 26] },
        __metadata__: { format: 'pt' },
      },
      [0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0, 0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x80, 0x3f, 7, 0, 0, 0, 0, 0, 0, 0],
    );
    const file = readSafetensors(bytes);
    expect([...file.tensors.keys()]).toEqual(['a', 'h', 'b', 'n']);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(Array.from(safetensorsToFloat32(file.tensors.get('a')!))).toEqual([1, -2.5]);
    expect(file.tensors.get('h')!.shape).toEqual([2, 2]);
    expect(Array.from(safetensorsToFloat32(file.tensors.get('h')!))).toEqual([1, -2, 65504, 2 ** -24]);
    expect(Array.from(safetensorsToFloat32(file.tensors.get('b')!))).toEqual([1]);
    expect(file.tensors.get('n')!.shape).toEqual([]);
    expect(Array.from(safetensorsToBigInt64(file.tensors.get('n')!))).toEqual([7n]);
  });

  it('reads a Node Buffer that is a view into a larger pool', () => {
    const inner = writeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) } });
    const pool = new Uint8Array(inner.length + 13);
    pool.set(inner, 5);
    const file = readSafetensors(Buffer.from(pool.buffer, 5, inner.length));
    expect(Array.from(safetensorsToFloat32(file.tensors.get('x')!))).toEqual([1, 2, 3]);
  });

  it('refuses malformed files with a typed error naming the tensor', () => {
    expectSafetensorsError(() => readSafetensors(new Uint8Array(4)), /shorter than the 8-byte header length/);
    const tooLong = new Uint8Array(16);
    tooLong[0] = 200;
    expectSafetensorsError(() => readSafetensors(tooLong), /header length 200 exceeds the file/);
    expectSafetensorsError(() => readSafetensors(handMade({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, [0])), /unknown dtype "F8"/, 'a');
    expectSafetensorsError(() => readSafetensors(handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, [0, 0, 0, 0])), /spans 4 bytes, but F32 \[2\] needs 8/, 'a');
    expectSafetensorsError(() => readSafetensors(handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, [0, 0])), /past the data/, 'a');
    expectSafetensorsError(() => readSafetensors(handMade({ a: { dtype: 'U8', shape: [1], data_offsets: [1, 2] } }, [0, 0])), /leaves a hole/, 'a');
    expectSafetensorsError(() => readSafetensors(handMade({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, [0, 0])), /1 bytes after the last tensor/);
    expectSafetensorsError(() => readSafetensors(handMade({ a: { dtype: 'U8', shape: [-1], data_offsets: [0, 1] } }, [0])), /not a list of non-negative integers/, 'a');
    const notJson = handMade({}, []);
    notJson[8] = 0x5b; // '[' then '}': not JSON
    expectSafetensorsError(() => readSafetensors(notJson), /not UTF-8 JSON/);
  });
});

describe('writeSafetensors', () => {
  it('writes the layout the format specifies: u64 LE length, space-padded JSON header, contiguous data', () => {
    const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }, { k: 'v' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(JSON.parse(header)).toEqual({ __metadata__: { k: 'v' }, w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    expect(header.trimEnd().length).toBeLessThanOrEqual(n);
    expect(Array.from(bytes.subarray(8 + n))).toEqual([0, 0, 0x80, 0x3f]);
  });

  it('round-trips every dtype bit for bit', () => {
    const tensors = {
      f32: { dtype: 'F32' as const, shape: [2, 3], data: new Float32Array([0, -0, 1.5, -1e-30, 3.4e38, NaN]) },
      f64: { dtype: 'F64' as const, shape: [1], data: new Float64Array([Math.PI]) },
      i64: { dtype: 'I64' as const, shape: [], data: new BigInt64Array([-(2n ** 40n)]) },
      i32: { dtype: 'I32' as const, shape: [2], data: new Int32Array([-5, 7]) },
      u8: { dtype: 'U8' as const, shape: [0, 4], data: new Uint8Array(0) },
      f16: { dtype: 'F16' as const, shape: [1], data: new Uint16Array([0x3c00]) },
    };
    const file = readSafetensors(writeSafetensors(tensors));
    for (const [name, t] of Object.entries(tensors)) {
      const entry = file.tensors.get(name)!;
      expect(entry.dtype).toBe(t.dtype);
      expect(entry.shape).toEqual(t.shape);
      expect(Array.from(entry.bytes)).toEqual(Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
    }
    expect(safetensorsToFloat32(file.tensors.get('f64')!)[0]).toBe(Math.fround(Math.PI));
    expect(safetensorsToBigInt64(file.tensors.get('i64')!)[0]).toBe(-(2n ** 40n));
  });

  it('refuses data whose length does not match dtype and shape, naming the tensor', () => {
    expect(() => writeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array(3) } })).toThrow(/'tensors.w.data' must be a typed array of 8 bytes for F32 \[2\], got 12 bytes/);
    expect(() => writeSafetensors({ w: { dtype: 'X' as never, shape: [2], data: new Float32Array(2) } })).toThrow(/'tensors.w.dtype'/);
  });
});
