/**
 * A packet the capture holds twice (tcpdump -i any on a bridge and its port, a VLAN and its parent, a
 * router's way in and out) is not a retransmission: the copy is left out. A sender's own repeat of a
 * segment (after its retransmission timeout, or a new IPv4 ID) still is one.
 */
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/index.js';
import { writePcap, type PcapRecord } from './helpers/capture-writer.js';
import { ACK, bytesOf, FIN, PSH, SYN, tcp4 } from './helpers/frames.js';

/** a TLS application data record of `n` bytes (header and filler) */
function record(n: number): Uint8Array {
  const b = new Uint8Array(n);
  b.set([23, 3, 3, (n - 5) >> 8, (n - 5) & 255]);
  return b;
}

function tcp(src: number, dst: number, sport: number, dport: number, flags: number, seq: number, ack: number, opts: { payload?: number; ipId?: number; ttl?: number } = {}): Uint8Array {
  return tcp4(src, dst, sport, dport, flags, seq, ack, { payload: opts.payload ? record(opts.payload) : undefined, ipId: opts.ipId, ttl: opts.ttl });
}

const C = 0x0a000001;
const S = 0x0a000002;

/** a connection whose client sends one 300-byte segment at t=1 s; `again` says when (and how) it is seen again */
async function run(again: { dt: number; ipId: number; ttl?: number }) {
  const recs: PcapRecord[] = [];
  const at = (sec: number, usec: number, data: Uint8Array) => recs.push({ sec, frac: usec, data });
  at(1, 0, tcp(C, S, 40000, 8443, SYN, 100, 0, { ipId: 1 }));
  at(1, 100, tcp(S, C, 8443, 40000, SYN | ACK, 900, 101, { ipId: 7 }));
  at(1, 200, tcp(C, S, 40000, 8443, ACK, 101, 901, { ipId: 2 }));
  at(1, 300, tcp(C, S, 40000, 8443, PSH | ACK, 101, 901, { payload: 300, ipId: 3 }));
  const t = 1 + (300 + again.dt * 1e6) / 1e6;
  at(Math.floor(t), Math.round((t % 1) * 1e6), tcp(C, S, 40000, 8443, PSH | ACK, 101, 901, { payload: 300, ipId: again.ipId, ttl: again.ttl }));
  at(3, 0, tcp(S, C, 8443, 40000, PSH | ACK, 901, 401, { payload: 500, ipId: 8 }));
  at(3, 100, tcp(C, S, 40000, 8443, FIN | ACK, 401, 1401, { ipId: 4 }));
  at(3, 200, tcp(S, C, 8443, 40000, FIN | ACK, 1401, 402, { ipId: 9 }));
  const a = await analyzeCapture(bytesOf(writePcap({ linkType: 1 }, recs).bytes));
  return a.connections[0]!;
}

describe('packets captured twice', () => {
  it('a copy microseconds later (same IP ID; a router on the way decrements the TTL) is left out, not a retransmission', async () => {
    for (const ttl of [64, 63]) {
      const c = await run({ dt: 0.000003, ipId: 3, ttl });
      expect(c.tcp!.orig.capture_duplicates).toBe(1);
      expect(c.tcp!.orig.retransmissions).toBe(0);
      expect(c.history).not.toContain('T');
    }
  });

  it('the sender repeating the segment after 200 ms is a retransmission', async () => {
    const c = await run({ dt: 0.2, ipId: 3 });
    expect(c.tcp!.orig.capture_duplicates).toBe(0);
    expect(c.tcp!.orig.retransmissions).toBe(1);
    expect(c.history).toContain('T');
  });

  it('a repeat within microseconds with another IPv4 ID is the sender\'s, a retransmission', async () => {
    const c = await run({ dt: 0.000003, ipId: 5 });
    expect(c.tcp!.orig.capture_duplicates).toBe(0);
    expect(c.tcp!.orig.retransmissions).toBe(1);
  });
});
