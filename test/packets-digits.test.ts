/** The integer writers of `ssmcap packets` print exactly what String() prints, at any position. */
import { describe, expect, it } from 'vitest';
import { putPad9, putUint } from '../src/report/packets.js';

function viaPut(n: number, at: number, pad9 = false): string {
  const b = new Uint8Array(64).fill(0x7e);
  const d = new DataView(b.buffer);
  const end = pad9 ? putPad9(d, at, n) : putUint(d, at, n);
  return Buffer.from(b.subarray(at, end)).toString('latin1');
}

describe('integer writers', () => {
  it('putUint matches String() at boundaries and at random', () => {
    const values = [0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999, 100000, 9999999, 10000000, 99999999, 100000000, 100000001, 999999999, 1e9, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 1e12 + 7, 99999999999999, 1e15, 2 ** 53 - 1];
    let x = 12345;
    for (let i = 0; i < 20000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      values.push(x, x % 100000, x * 1987 + (x % 7));
    }
    for (const [k, n] of values.entries()) if (n <= 2 ** 53 - 1) expect(viaPut(n, k % 5)).toBe(String(n));
  });

  it('putPad9 writes nine digits', () => {
    for (const n of [0, 1, 5, 12345678, 100000000, 999999999, 123456789, 10000]) expect(viaPut(n, 3, true)).toBe(String(n).padStart(9, '0'));
  });
});

describe('IPv6 writer', () => {
  it('putIPv6 prints what formatIPv6 prints', async () => {
    const { putIPv6 } = await import('../src/report/packets.js');
    const { formatIPv6 } = await import('../src/decode/addr.js');
    let x = 7;
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    const cases: Uint8Array[] = [];
    for (let i = 0; i < 20000; i++) {
      const a = new Uint8Array(20);
      // words drawn from a few values, so zero runs, ties and the IPv4 forms all come up
      for (let k = 0; k < 8; k++) {
        const r = next() % 8;
        const w = r < 4 ? 0 : r === 4 ? 0xffff : r === 5 ? 1 : r === 6 ? next() & 0xff : next() & 0xffff;
        a[2 + 2 * k] = w >> 8;
        a[3 + 2 * k] = w & 0xff;
      }
      if (i % 5 === 0) a.fill(0, 2, 12);
      cases.push(a);
    }
    for (const a of cases) {
      const b = new Uint8Array(64);
      const end = putIPv6(b, new DataView(b.buffer), 1, a, 2);
      expect(Buffer.from(b.subarray(1, end)).toString('latin1')).toBe(formatIPv6(a, 2));
    }
  });
});
