/**
 * The same scenarios recorded differently: every labelled sample capture re-encoded the ways users'
 * captures differ (tcpdump -s 96 and -s 128, pcapng in big-endian byte order with nanosecond
 * timestamps, Linux cooked SLL and SLL2 from `-i any`, every packet twice as `-i any` records it on a
 * bridge and its port, raw IP) must keep its verdict and reason. This is
 * what keeps the rules on protocol facts rather than on the sample files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/diagnose/analyze.js';
import { readCapture } from '../src/index.js';
import { PcapngWriter, writePcap, type PcapRecord } from './helpers/capture-writer.js';
import { ROOT } from './helpers/cli.js';
import { labels, reasonMatches } from './helpers/labels.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-variants-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Rec {
  sec: number;
  usec: number;
  data: Uint8Array;
  origLen: number;
}

async function records(file: string): Promise<Rec[]> {
  const out: Rec[] = [];
  await readCapture(file, (f) => out.push({ sec: f.tsSec, usec: Math.floor(f.tsNsec / 1000), data: f.bytes(), origLen: f.origLen }));
  return out;
}

/** Ethernet II frame -> its ethertype and payload (the samples carry no VLAN tags) */
function unEth(d: Uint8Array): { type: number; payload: Uint8Array } {
  return { type: (d[12]! << 8) | d[13]!, payload: d.subarray(14) };
}

function sll(d: Uint8Array): Uint8Array {
  const { type, payload } = unEth(d);
  const h = new Uint8Array(16);
  h[1] = 0; // packet type: to us (the value does not matter to the verdict)
  h[3] = 1; // ARPHRD_ETHER
  h[5] = 6;
  h.set(d.subarray(6, 12), 6);
  h[14] = type >> 8;
  h[15] = type & 0xff;
  return concat(h, payload);
}

function sll2(d: Uint8Array): Uint8Array {
  const { type, payload } = unEth(d);
  const h = new Uint8Array(20);
  h[0] = type >> 8;
  h[1] = type & 0xff;
  h[7] = 2; // ifindex
  h[9] = 1; // ARPHRD_ETHER
  h[11] = 6;
  h.set(d.subarray(6, 12), 12);
  return concat(h, payload);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}

type Variant = { name: string; write: (recs: Rec[], out: string) => void };

function pcapVariant(name: string, linkType: number, map: (d: Uint8Array) => Uint8Array, snaplen = 262144): Variant {
  return {
    name,
    write(recs, out) {
      const rs: PcapRecord[] = recs.map((r) => {
        const full = map(r.data);
        const grow = full.length - r.data.length;
        const cut = full.subarray(0, Math.min(full.length, snaplen));
        return { sec: r.sec, frac: r.usec, data: cut, origLen: r.origLen + grow };
      });
      fs.writeFileSync(out, writePcap({ linkType, snaplen }, rs).bytes);
    },
  };
}

const VARIANTS: Variant[] = [
  pcapVariant('tcpdump -s 96', 1, (d) => d, 96),
  pcapVariant('tcpdump -s 128', 1, (d) => d, 128),
  pcapVariant('Linux cooked SLL (-i any, older tcpdump)', 113, sll),
  pcapVariant('Linux cooked SLL2 (-i any) with -s 128', 276, sll2, 128),
  pcapVariant('raw IP (LINKTYPE_RAW)', 101, (d) => unEth(d).payload),
  {
    // a bridge and its port (or a VLAN and its parent): tcpdump -i any records each packet on both
    // interfaces, microseconds apart; the copies are not retransmissions
    name: '-i any seeing every packet twice (SLL2, two interfaces)',
    write(recs, out) {
      const rs: PcapRecord[] = [];
      for (const r of recs) {
        const a = sll2(r.data);
        const b = a.slice();
        b[7] = 3; // another ifindex
        rs.push({ sec: r.sec, frac: r.usec, data: a, origLen: r.origLen + 6 });
        rs.push({ sec: r.sec, frac: Math.min(r.usec + 3, 999_999), data: b, origLen: r.origLen + 6 });
      }
      fs.writeFileSync(out, writePcap({ linkType: 276, snaplen: 262144 }, rs).bytes);
    },
  },
  {
    name: 'pcapng, big-endian, nanosecond timestamps',
    write(recs, out) {
      const w = new PcapngWriter();
      w.shb({ le: false });
      w.idb({ linkType: 1, snaplen: 262144, tsresol: 9 });
      for (const r of recs) w.epb(0, BigInt(r.sec) * 1_000_000_000n + BigInt(r.usec) * 1000n, r.data, r.origLen);
      fs.writeFileSync(out, w.done().bytes);
    },
  },
];

/**
 * tcpdump's old default snaplen of 68 bytes keeps the headers and two bytes of payload: the verdict comes
 * from segment sizes, order and closes. Where the bytes that tell are gone, the test says which and why.
 */
const AT_68: Record<string, { verdict?: string; reason?: string; why: string }> = {
  'a09-icmp6-adm-prohibited-ipv6.pcap': { verdict: 'inconclusive', reason: 'capture-incomplete', why: "14 + 40 + 14 bytes: the IPv6 SYN's own TCP header is cut before its flags: the server is named, with the packets whose headers were cut, and nothing more can be said" },
  'a16-proxy-407.pcap': { why: 'the CONNECT line is cut after two bytes: the proxy leg and its target cannot be known' },
  'a18-proxy-502-upstream-refused.pcap': { verdict: 'transport', reason: 'refused', why: "the CONNECT line is cut: only the proxy's own refused connection to 8443 is visible" },
  'a11-tls-version-mismatch.pcap': { verdict: 'tls', reason: 'handshake-failure', why: "the server's alert is a 7-byte record whose description is cut: a fatal alert, which one is unknown" },
};

describe('tcpdump -s 68 (headers and two bytes of payload)', () => {
  const v = pcapVariant('s68', 1, (d) => d, 68);
  it.each(labels)('$file', async (l) => {
    const out = path.join(tmp, `s68-${l.file}`);
    v.write(await records(path.join(ROOT, 'captures', l.file)), out);
    const a = await analyzeCapture(out);
    const s = a.servers.find((x) => x.address === l.server.address && x.port === l.server.port);
    const ex = AT_68[l.file];
    if (ex && !ex.verdict) {
      expect(s, ex.why).toBeUndefined();
      return;
    }
    expect(s, `servers: ${a.servers.map((x) => `${x.address}:${x.port} ${x.reason}`).join(' ')}`).toBeDefined();
    expect(s!.verdict, s!.summary).toBe(ex?.verdict ?? l.verdict);
    if (ex) expect(s!.reason, ex.why).toBe(ex.reason);
    else {
      const ok = reasonMatches(s!.reason, l);
      expect(ok, `reason ${s!.reason} (${s!.summary}), label ${l.subclass}`).toBe(true);
    }
  });
});

describe.each(VARIANTS)('$name', (v) => {
  it.each(labels)('$file keeps $verdict/$subclass', async (l) => {
    const out = path.join(tmp, `${v.name.replace(/\W+/g, '_')}-${l.file}`);
    v.write(await records(path.join(ROOT, 'captures', l.file)), out);
    const a = await analyzeCapture(out);
    expect(a.error).toBeNull();
    const s = a.servers.find((x) => x.address === l.server.address && x.port === l.server.port);
    expect(s, `servers: ${a.servers.map((x) => `${x.address}:${x.port} ${x.reason}`).join(' ')}`).toBeDefined();
    expect(s!.verdict, s!.summary).toBe(l.verdict);
    const ok = reasonMatches(s!.reason, l);
    expect(ok, `reason ${s!.reason} (${s!.summary}), label ${l.subclass}`).toBe(true);
  });
});
