/**
 * TcpStreamIndex and FlowKeys on hand-made frames: tshark's numbering (port reuse by a SYN with another
 * ISN), and the forgetting rule (closed + EVICT_IDLE_S of capture time without a packet).
 */
import { describe, expect, it } from 'vitest';
import { Decoder } from '../src/decode/packet.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../src/decode/view.js';
import { EVICT_IDLE_S, TcpStreamIndex } from '../src/flow/stream-index.js';
import { FlowKeys, FlowTable, formatAddr } from '../src/flow/table.js';
import { Frame } from '../src/input/frame.js';

interface Seg {
  t: number;
  src: number[];
  dst: number[];
  sport: number;
  dport: number;
  flags: number;
  seq: number;
}

/** Ethernet + IPv4 (or IPv6 when the addresses have 16 bytes) + TCP, checksums not computed */
function frameOf(s: Seg, n: number): Frame {
  const v6 = s.src.length === 16;
  const ipHdr = v6 ? 40 : 20;
  const b = new Uint8Array(14 + ipHdr + 20);
  const v = new DataView(b.buffer);
  v.setUint16(12, v6 ? 0x86dd : 0x0800);
  if (v6) {
    v.setUint8(14, 0x60);
    v.setUint16(18, 20);
    v.setUint8(20, 6);
    v.setUint8(21, 64);
    b.set(s.src, 22);
    b.set(s.dst, 38);
  } else {
    v.setUint8(14, 0x45);
    v.setUint16(16, 40);
    v.setUint8(22, 64);
    v.setUint8(23, 6);
    b.set(s.src, 26);
    b.set(s.dst, 30);
  }
  const t = 14 + ipHdr;
  v.setUint16(t, s.sport);
  v.setUint16(t + 2, s.dport);
  v.setUint32(t + 4, s.seq);
  v.setUint8(t + 12, 5 << 4);
  v.setUint8(t + 13, s.flags);
  v.setUint16(t + 14, 65535);
  const f = new Frame();
  f.number = n;
  f.hasTime = true;
  f.tsSec = Math.floor(s.t);
  f.tsNsec = Math.round((s.t - f.tsSec) * 1e9);
  f.origLen = f.capLen = b.length;
  f.linkType = 1;
  f.buf = b;
  f.view = new DataView(b.buffer);
  return f;
}

const C = [10, 0, 0, 1];
const S = [10, 0, 0, 2];

function run(segs: Seg[], idle?: number): { streams: number[]; index: TcpStreamIndex } {
  const d = new Decoder();
  const index = new TcpStreamIndex(idle);
  const streams = segs.map((s, i) => {
    const p = d.decode(frameOf(s, i + 1));
    expect(p.isTcp).toBe(true);
    return index.index(p);
  });
  return { streams, index };
}

const c2s = (t: number, flags: number, seq = 1000, sport = 40000): Seg => ({ t, src: C, dst: S, sport, dport: 8443, flags, seq });
const s2c = (t: number, flags: number, seq = 5000, dport = 40000): Seg => ({ t, src: S, dst: C, sport: 8443, dport, flags, seq });

describe('TcpStreamIndex', () => {
  it('numbers conversations in first-seen order, both directions alike', () => {
    const { streams } = run([c2s(0, TCP_SYN), s2c(0.1, TCP_SYN | TCP_ACK), c2s(0.2, TCP_SYN, 7, 40001), c2s(0.3, TCP_ACK), s2c(0.4, TCP_ACK, 9, 40001)]);
    expect(streams).toEqual([0, 0, 1, 0, 1]);
  });

  it('a SYN with another ISN on the same ports starts a new conversation, one with the same ISN does not', () => {
    const { streams } = run([c2s(0, TCP_SYN, 1000), c2s(1, TCP_SYN, 1000), c2s(2, TCP_SYN, 2000), c2s(3, TCP_ACK, 2001)]);
    expect(streams).toEqual([0, 0, 1, 1]);
  });

  it('keeps a closed conversation for EVICT_IDLE_S after its last packet, then forgets it', () => {
    const close = [c2s(0, TCP_SYN), s2c(0, TCP_SYN | TCP_ACK), c2s(0, TCP_FIN | TCP_ACK), s2c(1, TCP_FIN | TCP_ACK)];
    // the last ACK, and a retransmitted FIN just inside the window: the same conversation
    const late = run([...close, c2s(2, TCP_ACK), c2s(2 + EVICT_IDLE_S - 1, TCP_FIN | TCP_ACK), c2s(2 + EVICT_IDLE_S - 0.5, TCP_ACK, 0, 50000)]);
    expect(late.streams).toEqual([0, 0, 0, 0, 0, 0, 1]);
    expect(late.index.evicted).toBe(0);
    // quiet for longer than the window (another conversation moves the clock): forgotten
    const gone = run([...close, c2s(2, TCP_ACK), c2s(3 + EVICT_IDLE_S, TCP_SYN, 0, 50000), c2s(4 + EVICT_IDLE_S, TCP_ACK)]);
    expect(gone.index.evicted).toBe(1);
    expect(gone.index.live).toBe(2);
    expect(gone.streams).toEqual([0, 0, 0, 0, 0, 1, 2]);
  });

  it('forgets after a RST, but never a conversation that has not closed', () => {
    const r = run([c2s(0, TCP_SYN), s2c(0, TCP_RST | TCP_ACK), c2s(0, TCP_ACK, 0, 40001), c2s(1000, TCP_ACK, 0, 50000)]);
    expect(r.streams).toEqual([0, 0, 1, 2]);
    expect(r.index.evicted).toBe(1);
    expect(r.index.live).toBe(2);
    const half = run([c2s(0, TCP_SYN), c2s(0, TCP_FIN), c2s(1000, TCP_ACK, 0, 50000), c2s(1001, TCP_ACK)]);
    expect(half.streams).toEqual([0, 0, 1, 0]);
    expect(half.index.evicted).toBe(0);
  });

  it('stays small: conversations come and go, the table does not grow with them', () => {
    const segs: Seg[] = [];
    for (let i = 0; i < 6000; i++) {
      const t = i * 0.1;
      const port = 1024 + (i % 60000);
      segs.push(c2s(t, TCP_SYN, i, port), s2c(t, TCP_SYN | TCP_ACK, i, port), c2s(t, TCP_FIN | TCP_ACK, i, port), s2c(t, TCP_FIN | TCP_ACK, i, port));
    }
    const { streams, index } = run(segs);
    expect(streams[streams.length - 1]).toBe(5999);
    expect(index.count).toBe(6000);
    expect(index.live).toBeLessThanOrEqual(EVICT_IDLE_S * 10 + 20);
  });
});

describe('FlowKeys / FlowTable', () => {
  it('finds flows in both directions, IPv4 and IPv6, through deletes and growth', () => {
    const keys = new FlowKeys();
    const b = new Uint8Array(64);
    const ids: number[] = [];
    const put = (i: number, alen: number) => {
      for (let k = 0; k < 32; k++) b[k] = (i * 7 + k * 13) & 0xff;
      return { src: 0, dst: 16, alen, sport: i & 0xffff, dport: 443 };
    };
    for (let i = 0; i < 3000; i++) {
      const k = put(i, i % 3 === 0 ? 16 : 4);
      expect(keys.find(6, b, k.alen, k.src, k.dst, k.sport, k.dport)).toBe(-1);
      ids.push(keys.insert(6, b, k.alen, k.src, k.dst, k.sport, k.dport));
    }
    for (let i = 0; i < 3000; i += 2) keys.delete(ids[i]!);
    expect(keys.size).toBe(1500);
    for (let i = 0; i < 3000; i++) {
      const k = put(i, i % 3 === 0 ? 16 : 4);
      const fwd = keys.find(6, b, k.alen, k.src, k.dst, k.sport, k.dport);
      expect(fwd).toBe(i % 2 ? ids[i] : -1);
      if (i % 2) {
        expect(keys.forward).toBe(true);
        expect(keys.find(6, b, k.alen, k.dst, k.src, k.dport, k.sport)).toBe(ids[i]);
        expect(keys.forward).toBe(false);
        expect(keys.find(17, b, k.alen, k.src, k.dst, k.sport, k.dport)).toBe(-1);
        expect([...keys.address(ids[i]!, false)]).toEqual([...b.subarray(0, k.alen)]);
        expect([...keys.address(ids[i]!, true)]).toEqual([...b.subarray(16, 16 + k.alen)]);
        expect(keys.portA(ids[i]!)).toBe(k.sport);
        expect(keys.portB(ids[i]!)).toBe(443);
      }
    }
  });

  it('FlowTable entries keep their endpoints and value', () => {
    const t = new FlowTable<{ n: number }>();
    const b = Uint8Array.of(192, 168, 1, 2, 10, 0, 0, 1);
    const e = t.insert(6, b, 4, 0, 4, 65535, 80, { n: 1 });
    expect(t.find(6, b, 4, 4, 0, 80, 65535)).toBe(e);
    expect(t.forward).toBe(false);
    expect(formatAddr(e.addrA)).toBe('192.168.1.2');
    expect(formatAddr(e.addrB)).toBe('10.0.0.1');
    expect([e.portA, e.portB, e.proto, t.size]).toEqual([65535, 80, 6, 1]);
    expect([...t.entries()]).toEqual([e]);
    t.delete(e);
    expect(t.size).toBe(0);
    expect(t.find(6, b, 4, 0, 4, 65535, 80)).toBeNull();
  });
});
