/**
 * Address text written once per connection or direction, cheaply: formatAddr remembers the last
 * addresses it wrote (a cache by a hash of the bytes), and the checksum ledger writes a direction's
 * addresses only when a report line reads them. Both must print exactly what formatIPv4/formatIPv6 print.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChecksumLedger, formatIPv4, formatIPv6 } from '../src/index.js';
import { formatAddr } from '../src/flow/table.js';

/** address bytes with few distinct values, so addresses repeat and collide in the cache, and zero runs abound */
const addrBytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => a.map((x) => (x < 160 ? 0 : x < 200 ? x & 3 : x)));

describe('formatAddr', () => {
  it('prints what formatIPv4 and formatIPv6 print, for addresses seen again and new ones alike', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(addrBytes(4), addrBytes(16)), { minLength: 1, maxLength: 600 }), (addrs) => {
        // each address twice, the second time after others may have taken its cache entry
        for (const a of [...addrs, ...[...addrs].reverse()]) {
          expect(formatAddr(a)).toBe(a.length === 4 ? formatIPv4(a, 0) : formatIPv6(a, 0));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('keeps the forms inet_ntop writes: IPv4-mapped, IPv4-compatible, ::1, the first longest zero run', () => {
    const v6 = (words: number[]) => new Uint8Array(words.flatMap((w) => [w >> 8, w & 0xff]));
    expect(formatAddr(v6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]))).toBe('::ffff:192.0.2.1');
    expect(formatAddr(v6([0, 0, 0, 0, 0, 0, 0xc000, 0x0201]))).toBe('::192.0.2.1');
    expect(formatAddr(v6([0, 0, 0, 0, 0, 0, 0, 1]))).toBe('::1');
    expect(formatAddr(v6([0, 0, 0, 0, 0, 0, 0, 0]))).toBe('::');
    expect(formatAddr(v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]))).toBe('2001:db8::1:0:0:1');
    expect(formatAddr(v6([0x2001, 0xdb8, 0, 1, 0, 1, 0, 1]))).toBe('2001:db8:0:1:0:1:0:1');
    expect(formatAddr(v6([0x2001, 0xdb8, 0xffff, 1, 2, 3, 4, 0]))).toBe('2001:db8:ffff:1:2:3:4:0');
  });
});

describe('the checksum ledger names each direction as the address formatters do', () => {
  /** a decoded TCP packet as the ledger reads it: addresses at bytes 0.. of its buffer */
  function packet(src: Uint8Array, dst: Uint8Array): Parameters<ChecksumLedger['add']>[0] {
    const n = src.length;
    const buf = new Uint8Array(2 * n);
    buf.set(src, 0);
    buf.set(dst, n);
    const fmt = n === 4 ? formatIPv4 : formatIPv6;
    return { isTcp: true, tcpHdrLen: 20, tcpChecksumStatus: 'good', tcpChecksum: 0, tLen: 40, tcpChecksumOffload: false, buf, ipVersion: n === 4 ? 4 : 6, srcOff: 0, dstOff: n, src: () => fmt(buf, 0), dst: () => fmt(buf, n), frame: { number: 1 } } as unknown as Parameters<ChecksumLedger['add']>[0];
  }

  it('IPv4 and IPv6 directions, each counted under its own addresses', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.tuple(addrBytes(4), addrBytes(4)), fc.tuple(addrBytes(16), addrBytes(16))), { minLength: 1, maxLength: 40 }), (pairs) => {
        const ledger = new ChecksumLedger();
        const want = new Map<string, number>();
        for (const [s, d] of pairs) {
          ledger.add(packet(s, d));
          const fmt = s.length === 4 ? formatIPv4 : formatIPv6;
          const key = `${fmt(s, 0)} ${fmt(d, 0)}`;
          want.set(key, (want.get(key) ?? 0) + 1);
        }
        const got = new Map(ledger.summarize().map((l) => [`${l.src} ${l.dst}`, l.packets]));
        expect(got).toEqual(want);
      }),
      { numRuns: 80 },
    );
  });
});
