/**
 * Read buffers that the checksum code can sum with WebAssembly SIMD in place. The file reader allocates
 * its buffers here; each lives in a WebAssembly.Memory of its own with a tiny instance that sums 16-byte
 * vectors, so summing a frame in that memory costs no copy. Anywhere else (streams, gzip output,
 * reassembled datagrams) `memorySum` answers -1 and the caller sums in JavaScript.
 *
 * The module, assembled by hand below, exports `sum(p, e)`: the little-endian 16-bit words of the 16-byte
 * aligned range [p, e), added per lane with i32x4.extadd_pairwise_i16x8_u, each lane folded to 17 bits,
 * the four lanes added. The result is congruent modulo 0xffff to the sum of those words and is 0 only when
 * every byte is 0. A lane takes at most 131070 per vector, so ranges up to 512 KiB cannot overflow.
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
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_GT_U = 0x4b;
const I32_GE_U = 0x4f;
const BLOCK = 0x02;
const LOOP = 0x03;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const VOID = 0x40;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00, 4]; // then the offset; alignment 2^4: the ranges are 16-byte aligned
const V128_CONST = [SIMD, 0x0c];
const V128_AND = [SIMD, 0x4e];
const I32X4_EXTRACT_LANE = [SIMD, 0x1b];
const I32X4_EXTADD_PAIRWISE_I16X8_U = [SIMD, 0x7f];
const I32X4_SHR_U = [SIMD, 0xad, 0x01];
const I32X4_ADD = [SIMD, 0xae, 0x01];

// locals: 0 p, 1 e (parameters), 2 acc (v128)
const P = 0;
const E = 1;
const ACC = 2;
const addVector = (offset: number): number[] => [LOCAL_GET, P, ...V128_LOAD, ...u32leb(offset), ...I32X4_EXTADD_PAIRWISE_I16X8_U, ...I32X4_ADD];
const advance = (n: number): number[] => [LOCAL_GET, P, I32_CONST, ...(n < 64 ? [n] : [n & 0x7f | 0x80, n >> 7]), I32_ADD, LOCAL_SET, P];
// prettier-ignore
const body: number[] = [
  1, 1, 0x7b, // one local of type v128
  // 64 bytes per step while they fit
  BLOCK, VOID, LOOP, VOID,
  LOCAL_GET, P, I32_CONST, 0xc0, 0x00, I32_ADD, LOCAL_GET, E, I32_GT_U, BR_IF, 1,
  LOCAL_GET, ACC, ...addVector(0), ...addVector(16), ...addVector(32), ...addVector(48), LOCAL_SET, ACC,
  ...advance(64), BR, 0,
  END, END,
  // then 16 at a time
  BLOCK, VOID, LOOP, VOID,
  LOCAL_GET, P, LOCAL_GET, E, I32_GE_U, BR_IF, 1,
  LOCAL_GET, ACC, ...addVector(0), LOCAL_SET, ACC,
  ...advance(16), BR, 0,
  END, END,
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

type SumFn = (p: number, e: number) => number;

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

let lastBuffer: ArrayBufferLike | null = null;
let lastSum: SumFn | null = null;

/**
 * The sum of the little-endian 16-bit words of `buffer`'s bytes [start, end) (16-byte aligned, at most
 * MEMORY_SUM_MAX long), congruent modulo 0xffff and 0 only when all bytes are; -1 when `buffer` was not
 * allocated by allocSummable.
 */
export function memorySum(buffer: ArrayBufferLike, start: number, end: number): number {
  if (buffer !== lastBuffer) {
    lastBuffer = buffer;
    lastSum = sums.get(buffer) ?? null;
  }
  return lastSum ? lastSum(start, end) : -1;
}
