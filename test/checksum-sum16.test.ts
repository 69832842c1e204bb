/**
 * sum16 sums aligned 32-bit words for speed; these properties hold it to the plain RFC 1071 loop: the same
 * folded sum (0 and 0xffff told apart) and the same good/bad/partial verdict, at every alignment of the
 * buffer in its ArrayBuffer and every offset and length, odd ones included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fold, judgeTransport, sum16 } from '../src/decode/checksum.js';
import { allocSummable, memorySum } from '../src/sum-memory.js';

/** the reference: big-endian 16-bit words, a last odd byte padded with zero, no tricks */
function sum16Ref(buf: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i + 1 < len; i += 2) s += (buf[off + i]! << 8) | buf[off + i + 1]!;
  if (len % 2 === 1) s += buf[off + len - 1]! << 8;
  return s;
}

/** bytes that make the edge cases likely: runs of 0x00 (sum 0) and of 0xff (sum a multiple of 0xffff) */
const content = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 3000 }),
  fc.record({ n: fc.integer({ min: 0, max: 3000 }), fill: fc.constantFrom(0, 0xff) }).map(({ n, fill }) => new Uint8Array(n).fill(fill)),
  fc.array(fc.constantFrom(0, 0xff, 0x01, 0xfe), { maxLength: 400 }).map((a) => Uint8Array.from(a)),
);

/** the content placed at `shift` bytes into a larger ArrayBuffer, so the word loop meets every alignment */
const placed = fc.record({ bytes: content, shift: fc.integer({ min: 0, max: 7 }), pad: fc.integer({ min: 0, max: 5 }) }).map(({ bytes, shift, pad }) => {
  const ab = new ArrayBuffer(shift + bytes.length + pad);
  const view = new Uint8Array(ab, shift, bytes.length);
  view.set(bytes);
  return view;
});

/** the content placed in one of the file reader's buffers, where sum16 hands the aligned middle to WebAssembly */
const summable = allocSummable(16384);
const placedSummable = fc.record({ bytes: fc.oneof(content, fc.uint8Array({ minLength: 3000, maxLength: 12000 })), shift: fc.integer({ min: 0, max: 4000 }) }).map(({ bytes, shift }) => {
  const view = summable.subarray(shift, shift + bytes.length);
  view.set(bytes);
  return view;
});

const rangeIn = (buffers: fc.Arbitrary<Uint8Array>) =>
  buffers.chain((buf) =>
    fc.integer({ min: 0, max: buf.length }).chain((off) => fc.record({ buf: fc.constant(buf), off: fc.constant(off), len: fc.integer({ min: 0, max: buf.length - off }) })),
  );
const range = fc.oneof(rangeIn(placed), rangeIn(placedSummable));

describe('sum16 against the plain RFC 1071 loop', () => {
  it('folds to the same 16-bit sum, alone and with a pseudo-header sum', () => {
    fc.assert(
      fc.property(range, fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 1 << 22 })), ({ buf, off, len }, pseudo) => {
        const got = sum16(buf, off, len);
        const want = sum16Ref(buf, off, len);
        expect(got === 0).toBe(want === 0);
        expect(fold(got)).toBe(fold(want));
        expect(fold(pseudo + got)).toBe(fold(pseudo + want));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same transport verdict for a right, an offloaded and an arbitrary checksum field', () => {
    fc.assert(
      fc.property(range, fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 0, max: 0xffff }), ({ buf, off, len }, pseudo, anyField) => {
        const got = sum16(buf, off, len);
        const want = sum16Ref(buf, off, len);
        // the field that would make the sum come out right, and the offload pattern's
        const right = 0xffff - fold(pseudo + want);
        for (const field of [right, fold(pseudo), anyField, 0, 0xffff]) {
          expect(judgeTransport(field, pseudo, got)).toBe(judgeTransport(field, pseudo, want));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('treats the zero forms as RFC 1071 does', () => {
    const zeros = new Uint8Array(4004);
    const ones = new Uint8Array(4004).fill(0xff);
    for (const len of [0, 1, 63, 64, 65, 1500, 1501, 3999]) {
      for (const off of [0, 1, 2, 3]) {
        expect(sum16(zeros, off, len)).toBe(0);
        expect(fold(sum16(ones, off, len))).toBe(fold(sum16Ref(ones, off, len)));
      }
    }
  });

  it("sums the file reader's buffers in WebAssembly (Node 20 has SIMD), so the properties above cover that path", () => {
    expect(memorySum(summable.buffer, 0, 64)).toBeGreaterThanOrEqual(0);
    expect(memorySum(new ArrayBuffer(64), 0, 64)).toBe(-1);
  });

  it('works on a Node Buffer from the shared pool (non-zero byteOffset)', () => {
    const b = Buffer.from(Array.from({ length: 777 }, (_, i) => (i * 37 + 11) & 0xff));
    for (const off of [0, 1, 2, 3, 100]) {
      expect(fold(sum16(b, off, 777 - off))).toBe(fold(sum16Ref(b, off, 777 - off)));
    }
  });
});
