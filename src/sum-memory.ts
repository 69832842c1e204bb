/**
 * Read buffers that the checksum code can sum with WebAssembly SIMD in place. The file reader allocates
 * its buffers here; each lives in a WebAssembly.Memory of its own with a tiny instance that sums 16-byte
 * vectors, so summing a frame in that memory costs no copy. Anywhere else (streams, gzip output,
 * reassembled datagrams) `memorySum` answers -1 and the caller sums in JavaScript.
 *
 * The module, assembled by hand below, exports `sum(p, e)`: the little-endian 16-bit words of the range
 * [p, e) (any alignment, p < e), added per lane with i32x4.extadd_pairwise_i16x8_u over the 16-byte
 * aligned vectors that cover the range, the first and the last masked to the range's bytes (a byte keeps
 * the weight of its address's parity), each lane folded to 17 bits, the four lanes added. The result is
 * congruent modulo 0xffff to the sum of those words and is 0 only when every byte is 0. A lane takes at
 * most 131070 per vector, so ranges up to 512 KiB cannot overflow. The covering vectors stay inside the
 * memory, whose size is a multiple of 16.
 */

/** the longest range `memorySum` takes (lanes would overflow past 512 KiB) */
export const MEMORY_SUM_MAX = 1 << 19;

const u32leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const section = (id: number, body: number[]): number[] => [id, ...u32leb(body.length), ...body];
const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

// instructions used (SIMD ones after the 0xfd prefix)
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_EQ = 0x46;
const I32_GT_U = 0x4b;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_AND = 0x71;
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const ELSE = 0x05;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const VOID = 0x40;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00, 4]; // then the offset; alignment 2^4: the vectors are 16-byte aligned
const V128_CONST = [SIMD, 0x0c];
const I8X16_SPLAT = [SIMD, 0x0f];
const I8X16_LE_U = [SIMD, 0x2a];
const I8X16_GE_U = [SIMD, 0x2c];
const V128_AND = [SIMD, 0x4e];
const I32X4_EXTRACT_LANE = [SIMD, 0x1b];
const I32X4_EXTADD_PAIRWISE_I16X8_U = [SIMD, 0x7f];
const I32X4_SHR_U = [SIMD, 0xad, 0x01];
const I32X4_ADD = [SIMD, 0xae, 0x01];

// locals: 0 p, 1 e (parameters; p becomes the address of the next vector), 2 last (the address of the
// last vector), 3 acc (v128), 4 head mask, 5 tail mask
const P = 0;
const E = 1;
const LAST = 2;
const ACC = 3;
const HEAD = 4;
const TAIL = 5;
const i32 = (n: number): number[] => {
  // signed LEB128, enough for the small constants used here
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const IOTA = [V128_CONST, Array.from({ length: 16 }, (_, i) => i)].flat();
const load = (offset: number): number[] => [LOCAL_GET, P, ...V128_LOAD, ...u32leb(offset)];
const widen = I32X4_EXTADD_PAIRWISE_I16X8_U;
const addVector = (offset: number): number[] => [...load(offset), ...widen, ...I32X4_ADD];
const advance = (n: number): number[] => [LOCAL_GET, P, I32_CONST, ...i32(n), I32_ADD, LOCAL_SET, P];
// prettier-ignore
const body: number[] = [
  2, 1, 0x7f, 3, 0x7b, // locals: one i32, three v128
  // head mask: bytes at or after p in its vector; tail mask: bytes up to e - 1 in its vector
  ...IOTA, LOCAL_GET, P, I32_CONST, 15, I32_AND, ...I8X16_SPLAT, ...I8X16_GE_U, LOCAL_SET, HEAD,
  ...IOTA, LOCAL_GET, E, I32_CONST, 1, I32_SUB, LOCAL_TEE, LAST, I32_CONST, 15, I32_AND, ...I8X16_SPLAT, ...I8X16_LE_U, LOCAL_SET, TAIL,
  LOCAL_GET, LAST, I32_CONST, ...i32(-16), I32_AND, LOCAL_SET, LAST,
  LOCAL_GET, P, I32_CONST, ...i32(-16), I32_AND, LOCAL_SET, P,
  LOCAL_GET, P, LOCAL_GET, LAST, I32_EQ,
  IF, VOID,
  // one vector holds the whole range
  ...load(0), LOCAL_GET, HEAD, ...V128_AND, LOCAL_GET, TAIL, ...V128_AND, ...widen, LOCAL_SET, ACC,
  ELSE,
  ...load(0), LOCAL_GET, HEAD, ...V128_AND, ...widen,
  LOCAL_GET, LAST, ...V128_LOAD, 0, LOCAL_GET, TAIL, ...V128_AND, ...widen, ...I32X4_ADD, LOCAL_SET, ACC,
  ...advance(16),
  // the whole vectors between: 64 bytes per step while they fit, then 16 at a time
  BLOCK, VOID, LOOP, VOID,
  LOCAL_GET, P, I32_CONST, ...i32(64), I32_ADD, LOCAL_GET, LAST, I32_GT_U, BR_IF, 1,
  LOCAL_GET, ACC, ...addVector(0), ...addVector(16), ...addVector(32), ...addVector(48), LOCAL_SET, ACC,
  ...advance(64), BR, 0,
  END, END,
  BLOCK, VOID, LOOP, VOID,
  LOCAL_GET, P, LOCAL_GET, LAST, I32_GE_U, BR_IF, 1,
  LOCAL_GET, ACC, ...addVector(0), LOCAL_SET, ACC,
  ...advance(16), BR, 0,
  END, END,
  END,
  // fold each lane to (lo16 + hi16), then add the lanes
  LOCAL_GET, ACC, ...V128_CONST, ...[0, 1, 2, 3].flatMap(() => [0xff, 0xff, 0, 0]), ...V128_AND,
  LOCAL_GET, ACC, I32_CONST, 16, ...I32X4_SHR_U, ...I32X4_ADD, LOCAL_SET, ACC,
  LOCAL_GET, ACC, ...I32X4_EXTRACT_LANE, 0,
  LOCAL_GET, ACC, ...I32X4_EXTRACT_LANE, 1, I32_ADD,
  LOCAL_GET, ACC, ...I32X4_EXTRACT_LANE, 2, I32_ADD,
  LOCAL_GET, ACC, ...I32X4_EXTRACT_LANE, 3, I32_ADD,
  END,
];
const WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]), // type 0: (i32, i32) -> i32
  ...section(2, [1, ...name('m'), ...name('mem'), 0x02, 0x00, 1]), // import memory m.mem, at least 1 page
  ...section(3, [1, 0]), // one function of type 0
  ...section(7, [1, ...name('sum'), 0x00, 0]), // export it as sum
  ...section(10, [1, ...u32leb(body.length), ...body]),
]);

export type SumFn = (p: number, e: number) => number;

/** the part of the WebAssembly API used here (the DOM lib that declares it is not in this project's lib) */
interface Wasm {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: { sum: SumFn } };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
}
const wasm = (globalThis as { WebAssembly?: Wasm }).WebAssembly;

/** null where WebAssembly or its SIMD is missing: everything then sums in JavaScript */
const module: object | null = (() => {
  try {
    return wasm && wasm.validate(WASM) ? new wasm.Module(WASM) : null;
  } catch {
    return null;
  }
})();

const sums = new WeakMap<ArrayBufferLike, SumFn>();

/**
 * `size` bytes for reading into: in a WebAssembly memory of their own when SIMD is available (its
 * ArrayBuffer never changes: the memory is not grown), else an ordinary Buffer.
 */
export function allocSummable(size: number): Buffer {
  if (wasm && module) {
    try {
      const memory = new wasm.Memory({ initial: Math.max(1, Math.ceil(size / 65536)) });
      const instance = new wasm.Instance(module, { m: { mem: memory } });
      sums.set(memory.buffer, instance.exports.sum);
      return Buffer.from(memory.buffer, 0, size);
    } catch {
      // each memory reserves address space; should that run out, plain memory does the same job
    }
  }
  return Buffer.allocUnsafe(size);
}

/** the summing function of a buffer allocSummable made, or null (then sum in JavaScript) */
export function summerOf(buffer: ArrayBufferLike): SumFn | null {
  return sums.get(buffer) ?? null;
}

let lastBuffer: ArrayBufferLike | null = null;
let lastSum: SumFn | null = null;

/**
 * The sum of the little-endian 16-bit words of `buffer`'s bytes [start, end) (start < end, at most
 * MEMORY_SUM_MAX long, any alignment: a byte counts 1 or 256 by the parity of its address), congruent modulo 0xffff and 0 only when all bytes are; -1 when `buffer` was not
 * allocated by allocSummable.
 */
export function memorySum(buffer: ArrayBufferLike, start: number, end: number): number {
  if (buffer !== lastBuffer) {
    lastBuffer = buffer;
    lastSum = sums.get(buffer) ?? null;
  }
  return lastSum ? lastSum(start, end) : -1;
}
