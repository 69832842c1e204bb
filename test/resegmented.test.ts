/**
 * `tcpdump -i any` on a host that forwards (a router or firewall between vManage and SSM On-Prem, a bridge
 * and its port) records each packet once per interface it crosses, and not always in the same
 * segmentation: GRO merges a burst of in-order segments into one super-segment on the way in, and GSO
 * splits it into MSS pieces again on the way out (or the other way round). The second view of those bytes
 * is not a retransmission. Real captures (samples and recordings: healthy, 403, stalled by a PMTU black
 * hole, lossy, IPv6) are rewritten here as such two-interface captures, and each must keep its verdict,
 * its reason and its retransmission counts, the copies counted as capture duplicates. The rewriting is
 * done from the packets' own headers (IPv4/IPv6, TCP), the checksums recomputed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCapture, type CaptureAnalysis } from '../src/diagnose/analyze.js';
import { Decoder } from '../src/decode/packet.js';
import { readCapture } from '../src/index.js';
import { PcapngWriter, writePcap, type PcapRecord } from './helpers/capture-writer.js';
import { ROOT } from './helpers/cli.js';
import { ACK, bytesOf, PSH, SYN, FIN, tcp4 } from './helpers/frames.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-reseg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ------------------------------------------------------------------------------------ reading a capture

/** one captured frame: time in microseconds, its network layer's ethertype and bytes (link header gone) */
interface Rec {
  us: number;
  netType: number;
  net: Uint8Array;
  /** bytes of the network layer on the wire (more than net.length when the snaplen cut it) */
  wireLen: number;
}

async function records(file: string): Promise<Rec[]> {
  const out: Rec[] = [];
  const dec = new Decoder({ reassemble: false });
  await readCapture(file, (f) => {
    const p = dec.decode(f);
    if (p.netType < 0) return;
    const b = f.bytes();
    const at = p.netOff - f.offset;
    out.push({ us: f.tsSec * 1e6 + Math.floor(f.tsNsec / 1000), netType: p.netType, net: b.slice(at), wireLen: f.origLen - at });
  });
  return out;
}

/** the IP and TCP facts of one record (null: not TCP over IP, or its headers cut) */
interface Seg {
  v: 4 | 6;
  ipHdr: number;
  tcpOff: number;
  tcpHdr: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  flags: number;
  len: number;
  /** the whole segment was captured */
  whole: boolean;
}

function seg(r: Rec): Seg | null {
  const b = r.net;
  const v = b[0]! >> 4;
  let ipHdr: number;
  let proto: number;
  let src: string;
  let dst: string;
  if (v === 4 && r.netType === 0x0800) {
    ipHdr = (b[0]! & 15) * 4;
    proto = b[9]!;
    if ((((b[6]! << 8) | b[7]!) & 0x3fff) !== 0) return null; // a fragment
    src = b.subarray(12, 16).join('.');
    dst = b.subarray(16, 20).join('.');
  } else if (v === 6 && r.netType === 0x86dd) {
    ipHdr = 40;
    proto = b[6]!;
    src = Buffer.from(b.subarray(8, 24)).toString('hex');
    dst = Buffer.from(b.subarray(24, 40)).toString('hex');
  } else return null;
  if (proto !== 6 || b.length < ipHdr + 20) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const tcpHdr = (b[ipHdr + 12]! >> 4) * 4;
  const ipLen = v === 4 ? dv.getUint16(2) : 40 + dv.getUint16(4);
  return {
    v,
    ipHdr,
    tcpOff: ipHdr,
    tcpHdr,
    src,
    dst,
    sport: dv.getUint16(ipHdr),
    dport: dv.getUint16(ipHdr + 2),
    seq: dv.getUint32(ipHdr + 4),
    flags: b[ipHdr + 13]!,
    len: ipLen - ipHdr - tcpHdr,
    whole: b.length >= ipLen && r.wireLen >= ipLen,
  };
}

// ------------------------------------------------------------------------------------ checksums

function sum(b: Uint8Array, from: number, to: number, acc = 0): number {
  for (let i = from; i + 1 < to; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if ((to - from) & 1) acc += b[to - 1]! << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 65536);
  return acc;
}

/** IPv4 header checksum and TCP checksum (pseudo-header included), written into the packet */
function fixChecksums(b: Uint8Array, s: { v: 4 | 6; ipHdr: number }): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const tcpLen = b.length - s.ipHdr;
  let pseudo: number;
  if (s.v === 4) {
    dv.setUint16(10, 0);
    dv.setUint16(10, ~fold(sum(b, 0, s.ipHdr)) & 0xffff);
    pseudo = sum(b, 12, 20) + 6 + tcpLen;
  } else pseudo = sum(b, 8, 40) + 6 + tcpLen;
  dv.setUint16(s.ipHdr + 16, 0);
  dv.setUint16(s.ipHdr + 16, ~fold(sum(b, s.ipHdr, b.length, pseudo)) & 0xffff);
}

/** the packet with its TTL (hop limit) lowered by `hops` (IPv4 header checksum fixed incrementally) */
function lowerTtl(net: Uint8Array, netType: number, hops: number): Uint8Array {
  if (hops === 0) return net;
  const b = net.slice();
  if (netType === 0x0800 && b.length >= 20) {
    b[8] = b[8]! - hops;
    const dv = new DataView(b.buffer);
    // RFC 1624: HC' = ~(~HC + ~m + m')
    const old = ((b[8]! + hops) << 8) | b[9]!;
    const now = (b[8]! << 8) | b[9]!;
    dv.setUint16(10, ~fold((~dv.getUint16(10) & 0xffff) + (~old & 0xffff) + now) & 0xffff);
  } else if (netType === 0x86dd && b.length >= 40) b[7] = b[7]! - hops;
  return b;
}

/** one segment of the pieces' bytes: the first piece's headers, the last one's ACK, flags and window */
function merge(pieces: Rec[], segs: Seg[]): Uint8Array {
  const first = pieces[0]!.net;
  const s0 = segs[0]!;
  const hdr = s0.ipHdr + s0.tcpHdr;
  const total = hdr + segs.reduce((n, s) => n + s.len, 0);
  const b = new Uint8Array(total);
  b.set(first.subarray(0, hdr));
  let at = hdr;
  pieces.forEach((p, i) => {
    const s = segs[i]!;
    b.set(p.net.subarray(s.ipHdr + s.tcpHdr, s.ipHdr + s.tcpHdr + s.len), at);
    at += s.len;
  });
  const last = pieces.at(-1)!.net;
  const sl = segs.at(-1)!;
  b.set(last.subarray(sl.ipHdr + 8, sl.ipHdr + 16), s0.ipHdr + 8); // ack, data offset, flags, window
  const dv = new DataView(b.buffer);
  if (s0.v === 4) dv.setUint16(2, total);
  else dv.setUint16(4, total - 40);
  fixChecksums(b, s0);
  return b;
}

// ------------------------------------------------------------------------------------ the rewriting

/**
 * How the two views differ:
 * - `gro-in`: a router; the way in shows GRO's merged segment (first, at the first piece's time), the
 *   way out the MSS pieces, TTL one lower, microseconds after each
 * - `gro-out`: a router; the way in shows the pieces, the way out one segment of them all (after the last)
 * - `bridge-interleaved`: a bridge (no TTL change) whose second view comes first for single packets, and
 *   whose merged view comes right after the first piece: partly repeated, partly new bytes
 * - `mirror-ttl`: `gro-in` written as Ethernet (a mirror port of both router sides): no interface in the
 *   link layer, only the TTL tells the two views apart
 */
type Shape = 'gro-in' | 'gro-out' | 'bridge-interleaved' | 'mirror-ttl';

interface View {
  us: number;
  order: number;
  netType: number;
  net: Uint8Array;
  wireLen: number;
  ifindex: number;
  /** SLL packet type: 0 to us (the way in), 4 sent by us (the way out) */
  pktType: number;
}

/** per direction (`sport>dport`): views written, and how many more packets count than in the original */
interface Expect {
  views: Map<string, number>;
  /** packets counted minus the original's: the counted view of a group has more or fewer segments */
  delta: Map<string, number>;
  /** groups: runs merged, segments split */
  merged: number;
  split: number;
}

const GRO_SPAN_US = 1000;
const MAX_PIECES = 4;
/** the piece size a segment is split into (the classic default MSS) */
const PIECE = 536;

/**
 * The bytes of a group seen two ways: `fine` (MSS pieces, at their times) and `coarse` (one segment).
 * Either the capture's own in-order segments of one direction within GRO_SPAN_US (merged into coarse), or
 * one segment of the capture longer than PIECE (split into fine).
 */
interface Group {
  idx: number[];
  fine: { us: number; net: Uint8Array }[];
  coarse: Uint8Array;
}

/** which segments are new data at the sender's front (not its repeats) */
function frontier(segs: (Seg | null)[]): boolean[] {
  const next = new Map<string, number>();
  return segs.map((s) => {
    if (!s) return false;
    const key = `${s.src}/${s.sport}>${s.dst}/${s.dport}`;
    const expected = next.get(key);
    const end = (s.seq + s.len + (s.flags & 0x03 ? 1 : 0)) >>> 0;
    if (expected === undefined || ((end - expected) | 0) > 0) next.set(key, end);
    return expected === undefined || s.seq === expected;
  });
}

/** runs of 2..MAX_PIECES in-order data segments of one direction, each within GRO_SPAN_US of the first */
function mergeRuns(recs: Rec[], segs: (Seg | null)[], front: boolean[]): number[][] {
  const groups: number[][] = [];
  const open = new Map<string, { idx: number[]; end: number; t0: number; bytes: number }>();
  const close = (key: string) => {
    const g = open.get(key);
    if (g && g.idx.length > 1) groups.push(g.idx);
    open.delete(key);
  };
  segs.forEach((s, i) => {
    if (!s) return;
    const key = `${s.src}/${s.sport}>${s.dst}/${s.dport}`;
    // no SYN, RST, URG; a FIN ends a run (GRO merges it and lets the segment go)
    const data = s.len > 0 && s.whole && (s.flags & 0x26) === 0 && front[i]!;
    const fin = (s.flags & 0x01) !== 0;
    const g = open.get(key);
    if (data && g && s.seq === g.end && recs[i]!.us - g.t0 <= GRO_SPAN_US && g.idx.length < MAX_PIECES && g.bytes + s.len <= 60000) {
      g.idx.push(i);
      g.end = (s.seq + s.len) >>> 0;
      g.bytes += s.len;
      if (fin) close(key);
    } else {
      close(key);
      if (data && !fin) open.set(key, { idx: [i], end: (s.seq + s.len) >>> 0, t0: recs[i]!.us, bytes: s.len });
    }
  });
  for (const k of [...open.keys()]) close(k);
  return groups;
}

/** one segment cut into pieces of PIECE bytes (sequence numbers, IP IDs counting up; PSH and FIN on the last) */
function split(r: Rec, s: Seg): Uint8Array[] {
  const hdr = s.ipHdr + s.tcpHdr;
  const out: Uint8Array[] = [];
  for (let at = 0; at < s.len; at += PIECE) {
    const n = Math.min(PIECE, s.len - at);
    const b = new Uint8Array(hdr + n);
    b.set(r.net.subarray(0, hdr));
    b.set(r.net.subarray(hdr + at, hdr + at + n), hdr);
    const dv = new DataView(b.buffer);
    if (s.v === 4) {
      dv.setUint16(2, b.length);
      dv.setUint16(4, (dv.getUint16(4) + out.length) & 0xffff);
    } else dv.setUint16(4, b.length - 40);
    dv.setUint32(s.ipHdr + 4, (s.seq + at) >>> 0);
    if (at + n < s.len) b[s.ipHdr + 13] = b[s.ipHdr + 13]! & ~0x09;
    fixChecksums(b, s);
    out.push(b);
  }
  return out;
}

function rewrite(recs: Rec[], shape: Shape): { views: View[]; expect: Expect } {
  const segs = recs.map(seg);
  const front = frontier(segs);
  const groupOf = new Map<number, Group>();
  const ex: Expect = { views: new Map(), delta: new Map(), merged: 0, split: 0 };
  for (const idx of mergeRuns(recs, segs, front)) {
    const g: Group = { idx, fine: idx.map((i) => ({ us: recs[i]!.us, net: recs[i]!.net })), coarse: merge(idx.map((i) => recs[i]!), idx.map((i) => segs[i]!)) };
    for (const i of idx) groupOf.set(i, g);
    ex.merged++;
  }
  // the sender's repeats are split only where the way in shows them whole (as the sender sent them)
  const splitRepeats = shape === 'gro-in' || shape === 'mirror-ttl';
  segs.forEach((s, i) => {
    if (!s || groupOf.has(i) || !(s.len > PIECE && s.whole && (s.flags & 0x26) === 0) || !(front[i] || splitRepeats)) return;
    const r = recs[i]!;
    groupOf.set(i, { idx: [i], fine: split(r, s).map((net, j) => ({ us: r.us + 2 * j, net })), coarse: r.net });
    ex.split++;
  });
  // each address lives behind one interface of the capturing host (2, 3, ... in order of appearance)
  const side = new Map<string, number>();
  const sideOf = (a: string) => side.get(a) ?? (side.set(a, side.size + 2), side.size + 1);
  const router = shape !== 'bridge-interleaved';
  const views: View[] = [];
  let order = 0;
  const bump = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);
  const add = (us: number, netType: number, net0: Uint8Array, wireLen: number, ifindex: number, way: 'in' | 'out', key: string | null) => {
    const net = router && way === 'out' ? lowerTtl(net0, netType, 1) : net0;
    views.push({ us, order: order++, netType, net, wireLen: wireLen - net0.length + net.length, ifindex, pktType: way === 'in' ? 0 : 4 });
    if (key) bump(ex.views, key, 1);
  };
  recs.forEach((r, i) => {
    const s = segs[i];
    if (!s) {
      // not TCP (ARP, ICMP, UDP): once
      add(r.us, r.netType, r.net, r.wireLen, 2, 'in', null);
      return;
    }
    const key = `${s.sport}>${s.dport}`;
    const inIf = sideOf(s.src);
    const outIf = sideOf(s.dst);
    const g = groupOf.get(i);
    if (!g) {
      if (shape === 'bridge-interleaved') {
        add(r.us, r.netType, r.net, r.wireLen, outIf, 'out', key);
        add(r.us + 2, r.netType, r.net, r.wireLen, inIf, 'in', key);
      } else {
        add(r.us, r.netType, r.net, r.wireLen, inIf, 'in', key);
        add(r.us + 3, r.netType, r.net, r.wireLen, outIf, 'out', key);
      }
      return;
    }
    if (g.idx[0] !== i) return;
    const t0 = g.fine[0]!.us;
    const coarse = (us: number, ifindex: number, way: 'in' | 'out') => add(us, r.netType, g.coarse, g.coarse.length, ifindex, way, key);
    const fine = (j: number, dt: number, ifindex: number, way: 'in' | 'out') => add(g.fine[j]!.us + dt, r.netType, g.fine[j]!.net, g.fine[j]!.net.length, ifindex, way, key);
    let counted: number;
    if (shape === 'gro-in' || shape === 'mirror-ttl') {
      coarse(t0, inIf, 'in');
      g.fine.forEach((_, j) => fine(j, 3, outIf, 'out'));
      counted = 1;
    } else if (shape === 'gro-out') {
      g.fine.forEach((_, j) => fine(j, 0, inIf, 'in'));
      coarse(g.fine.at(-1)!.us + 3, outIf, 'out');
      counted = g.fine.length;
    } else {
      fine(0, 0, inIf, 'in');
      coarse(t0, outIf, 'out');
      g.fine.forEach((_, j) => j > 0 && fine(j, 0, inIf, 'in'));
      counted = 2;
    }
    bump(ex.delta, key, counted - g.idx.length);
  });
  views.sort((a, b) => a.us - b.us || a.order - b.order);
  return { views, expect: ex };
}

function sll2(v: View): Uint8Array {
  const h = new Uint8Array(20 + v.net.length);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, v.netType);
  dv.setUint32(4, v.ifindex);
  dv.setUint16(8, 1); // ARPHRD_ETHER
  h[10] = v.pktType;
  h[11] = 6;
  h.set([2, 0, 0, 0, 0, v.ifindex], 12);
  h.set(v.net, 20);
  return h;
}

function ethernet(v: View): Uint8Array {
  const h = new Uint8Array(14 + v.net.length);
  h.set([2, 0, 0, 0, 1, v.ifindex, 2, 0, 0, 0, 2, v.ifindex], 0);
  h[12] = v.netType >> 8;
  h[13] = v.netType & 0xff;
  h.set(v.net, 14);
  return h;
}

function write(views: View[], shape: Shape, out: string): void {
  const eth = shape === 'mirror-ttl';
  const rs: PcapRecord[] = views.map((v) => {
    const data = eth ? ethernet(v) : sll2(v);
    return { sec: Math.floor(v.us / 1e6), frac: v.us % 1e6, data, origLen: data.length - v.net.length + v.wireLen };
  });
  fs.writeFileSync(out, writePcap({ linkType: eth ? 1 : 276, snaplen: 262144 }, rs).bytes);
}

// ------------------------------------------------------------------------------------ the samples

interface Sample {
  file: string;
  verdict: string;
  subclass: string;
  server: { address: string; port: number };
}

function label(dir: string, file: string): Sample {
  const l = JSON.parse(fs.readFileSync(path.join(ROOT, dir, 'labels.json'), 'utf8')) as { captures: Sample[] };
  const s = l.captures.find((c) => c.file === file);
  if (!s) throw new Error(`${file} has no label in ${dir}/labels.json`);
  return { ...s, file: path.join(dir, file) };
}

/** healthy, 403, stalled (PMTU black hole, both sides), lossy (real retransmissions), IPv6; key logs where there are some */
const SAMPLES: Sample[] = [
  label('captures', 'a01-healthy-tls12.pcap'),
  label('captures', 'a02-healthy-tls13.pcap'),
  label('captures', 'a03-auth-403-invalid-client-tls12.pcap'),
  label('captures', 'a15-pmtu-blackhole.pcap'),
  label('captures', 'a21-routed-healthy-tls12-java.pcap'),
  label('test/recordings', 'r01-v6-curl-keepalive-healthy.pcap'),
  label('test/recordings', 'r22-node-keepalive-healthy-tls12.pcap'),
  label('test/recordings', 'r25-pmtu-blackhole-ssm-side.pcap'),
  label('test/recordings', 'r60-node-per-call-healthy-v6-keys.pcap'),
  label('test/recordings', 'r65-pmtu-blackhole-client-upload.pcap'),
  label('test/recordings', 'r70-lossy-path-healthy.pcap'),
  label('test/recordings', 'r72-lossy-403-retried.pcap'),
  label('test/recordings', 'r77-java-403-retried-keepalive-tls12.pcap'),
  label('test/recordings', 'r83-curl-h2-403-retried.pcap'),
];

const SHAPES: Shape[] = ['gro-in', 'gro-out', 'bridge-interleaved', 'mirror-ttl'];

function reasonOk(reason: string, want: string): boolean {
  return reason === want || (reason === 'auth-rejected' && (want === 'invalid-client' || want === 'invalid-grant'));
}

async function analyze(file: string, keys: string | null): Promise<CaptureAnalysis> {
  return analyzeCapture(file, keys ? { keylog: [keys] } : {});
}

const ports = (ep: string) => Number(ep.slice(ep.lastIndexOf(':') + 1));

const originals = new Map<string, Promise<CaptureAnalysis>>();
function original(s: Sample, keys: string | null): Promise<CaptureAnalysis> {
  let a = originals.get(s.file);
  if (!a) originals.set(s.file, (a = analyze(path.join(ROOT, s.file), keys)));
  return a;
}

describe.each(SHAPES)('%s', (shape) => {
  it.each(SAMPLES.map((s) => [path.basename(s.file), s] as const))('%s keeps its verdict, reason and retransmissions', async (_n, s) => {
    const src = path.join(ROOT, s.file);
    const keys = fs.existsSync(`${src}.keys`) ? `${src}.keys` : null;
    const { views, expect: ex } = rewrite(await records(src), shape);
    const out = path.join(tmp, `${shape}-${path.basename(s.file)}`);
    write(views, shape, out);
    const [a, o] = await Promise.all([analyze(out, keys), original(s, keys)]);
    expect(a.error).toBeNull();
    const srv = a.servers.find((x) => x.address === s.server.address && x.port === s.server.port);
    expect(srv, `servers: ${a.servers.map((x) => `${x.address}:${x.port} ${x.reason}`).join(' ')}`).toBeDefined();
    expect(srv!.verdict, srv!.summary).toBe(s.verdict);
    expect(reasonOk(srv!.reason, s.subclass), `${srv!.reason}: ${srv!.summary}`).toBe(true);
    const osrv = o.servers.find((x) => x.address === s.server.address && x.port === s.server.port)!;
    expect([srv!.verdict, srv!.reason]).toEqual([osrv.verdict, osrv.reason]);

    expect(a.connections.map((c) => c.client)).toEqual(o.connections.map((c) => c.client));
    let copies = 0;
    for (const [i, c] of a.connections.entries()) {
      const oc = o.connections[i]!;
      const t = c.tcp!;
      const ot = oc.tcp!;
      // the sender's own repeats are the original's, no more and no fewer; the copies are none of them
      expect(c.retransmissions, c.client).toEqual(oc.retransmissions);
      expect([t.orig.retransmitted_bytes, t.resp.retransmitted_bytes], c.client).toEqual([ot.orig.retransmitted_bytes, ot.resp.retransmitted_bytes]);
      expect(c.history.includes('T'), c.history).toBe(oc.history.includes('T'));
      expect(c.history.includes('t'), c.history).toBe(oc.history.includes('t'));
      expect(c.summary.includes('retransmi')).toBe(oc.summary.includes('retransmi'));
      for (const [d, key] of [['orig', `${ports(c.client)}>${ports(c.server)}`], ['resp', `${ports(c.server)}>${ports(c.client)}`]] as const) {
        const views = ex.views.get(key) ?? 0;
        // every view is counted once: as a packet or as a copy; merged pieces count as one packet
        expect(t[d].packets + t[d].capture_duplicates, `${c.client} ${d}`).toBe(views);
        expect(t[d].packets, `${c.client} ${d}`).toBe(ot[d].packets + (ex.delta.get(key) ?? 0));
        copies += t[d].capture_duplicates;
      }
    }
    // the rewriting did merge something in every sample (else this test would prove nothing)
    expect(ex.merged + ex.split, 'segments merged or split').toBeGreaterThan(0);
    expect(copies).toBeGreaterThan(0);
  });
});

describe('real retransmissions stay retransmissions', () => {
  it.each(['captures/a15-pmtu-blackhole.pcap', 'test/recordings/r70-lossy-path-healthy.pcap', 'test/recordings/r65-pmtu-blackhole-client-upload.pcap'])('%s: the sender\'s repeats (same interface, 200 ms and more later) count in every shape', async (f) => {
    const o = await analyzeCapture(path.join(ROOT, f));
    const retr = o.connections.reduce((n, c) => n + c.retransmissions.orig + c.retransmissions.resp, 0);
    expect(retr).toBeGreaterThan(0);
    for (const shape of SHAPES) {
      const out = path.join(tmp, `neg-${shape}-${path.basename(f)}`);
      write(rewrite(await records(path.join(ROOT, f)), shape).views, shape, out);
      const a = await analyzeCapture(out);
      expect(a.connections.reduce((n, c) => n + c.retransmissions.orig + c.retransmissions.resp, 0), shape).toBe(retr);
    }
  });

  // one connection, the client's 3000 bytes once as two pieces and then again as one segment: `again`
  // says when, through which interface and with which TTL the second view comes
  const C = 0x0a000001;
  const S = 0x0a000002;
  function payload(n: number, from: number): Uint8Array {
    return Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
  }
  /** a client data view: stream offset and length of the 3000 bytes, when, where, with which TTL */
  type Data = { us: number; off: number; len: number; ifindex: number; ttl?: number; ipId?: number; stampUs?: number };
  async function conn(data: Data[], link: 'sll2' | 'eth' | 'pcapng' = 'sll2') {
    type F = { us: number; ifindex: number; frame: Uint8Array; stamp: number };
    const fr: F[] = [];
    const at = (us: number, frame: Uint8Array, ifindex = 2, stamp = us) => fr.push({ us, ifindex, frame, stamp });
    at(0, tcp4(C, S, 40000, 8443, SYN, 100, 0));
    at(100, tcp4(S, C, 8443, 40000, SYN | ACK, 900, 101));
    at(200, tcp4(C, S, 40000, 8443, ACK, 101, 901));
    for (const d of data) {
      at(d.us, tcp4(C, S, 40000, 8443, (d.off + d.len === 3000 ? PSH : 0) | ACK, 101 + d.off, 901, { payload: payload(d.len, d.off), ipId: d.ipId ?? 3 + Math.floor(d.off / 1500), ttl: d.ttl }), d.ifindex, d.stampUs);
    }
    at(1_000_000, tcp4(S, C, 8443, 40000, ACK, 901, 3101));
    at(1_000_100, tcp4(C, S, 40000, 8443, FIN | ACK, 3101, 901));
    at(1_000_200, tcp4(S, C, 8443, 40000, FIN | ACK, 901, 3102));
    at(1_000_300, tcp4(C, S, 40000, 8443, ACK, 3102, 902));
    fr.sort((a, b) => a.us - b.us);
    if (link === 'pcapng') {
      // dumpcap -i eth0 -i eth1: one Ethernet interface description each, interface 2 is id 0
      const w = new PcapngWriter();
      w.shb();
      w.idb({ linkType: 1, snaplen: 262144, tsresol: 6 });
      w.idb({ linkType: 1, snaplen: 262144, tsresol: 6 });
      for (const f of fr) w.epb(f.ifindex - 2, BigInt(1_000_000 + f.stamp), f.frame, f.frame.length);
      return (await analyzeCapture(bytesOf(w.done().bytes))).connections[0]!;
    }
    const rs: PcapRecord[] = fr.map((f) => {
      const v: View = { us: f.stamp, order: 0, netType: 0x0800, net: f.frame.subarray(14), wireLen: f.frame.length - 14, ifindex: f.ifindex, pktType: 0 };
      const b = link === 'eth' ? ethernet(v) : sll2(v);
      return { sec: 1 + Math.floor(f.stamp / 1e6), frac: f.stamp % 1e6, data: b };
    });
    const a = await analyzeCapture(bytesOf(writePcap({ linkType: link === 'eth' ? 1 : 276 }, rs).bytes));
    return a.connections[0]!;
  }

  /** the 3000 bytes as two pieces on interface 2, then again as one segment: `again` says when, where, which TTL */
  function run(again: { dtUs: number; ifindex: number; ttl: number; link: 'sll2' | 'eth' }) {
    return conn(
      [
        { us: 300, off: 0, len: 1500, ifindex: 2 },
        { us: 310, off: 1500, len: 1500, ifindex: 2 },
        { us: 310 + again.dtUs, off: 0, len: 3000, ifindex: again.ifindex, ttl: again.ttl, ipId: 3 },
      ],
      again.link,
    );
  }

  it('the same bytes in one segment from another interface microseconds later are a copy', async () => {
    const c = await run({ dtUs: 5, ifindex: 3, ttl: 63, link: 'sll2' });
    expect(c.tcp!.orig.capture_duplicates).toBe(1);
    expect(c.tcp!.orig.retransmissions).toBe(0);
    expect(c.history).not.toContain('T');
    // the same on a bridge: another interface, the same TTL
    const b = await run({ dtUs: 5, ifindex: 3, ttl: 64, link: 'sll2' });
    expect([b.tcp!.orig.capture_duplicates, b.tcp!.orig.retransmissions]).toEqual([1, 0]);
  });

  it('pcapng: another interface description is another interface', async () => {
    const views = (ifindex: number) => [
      { us: 300, off: 0, len: 1500, ifindex: 2 },
      { us: 310, off: 1500, len: 1500, ifindex: 2 },
      { us: 315, off: 0, len: 3000, ifindex, ipId: 3 },
    ];
    const c = await conn(views(3), 'pcapng');
    expect([c.tcp!.orig.capture_duplicates, c.tcp!.orig.retransmissions]).toEqual([1, 0]);
    const same = await conn(views(2), 'pcapng');
    expect([same.tcp!.orig.capture_duplicates, same.tcp!.orig.retransmissions]).toEqual([0, 1]);
  });

  it('a copy whose timestamp is microseconds before the pieces it copies (-i any merges interfaces slightly out of order) is a copy', async () => {
    const c = await conn([
      { us: 300, off: 0, len: 1500, ifindex: 2 },
      { us: 310, off: 1500, len: 1500, ifindex: 2 },
      { us: 311, stampUs: 305, off: 0, len: 3000, ifindex: 3, ipId: 3 },
    ]);
    expect([c.tcp!.orig.capture_duplicates, c.tcp!.orig.retransmissions]).toEqual([1, 0]);
  });

  it('without interfaces in the link layer, a TTL one hop apart tells the copy', async () => {
    const c = await run({ dtUs: 5, ifindex: 2, ttl: 63, link: 'eth' });
    expect([c.tcp!.orig.capture_duplicates, c.tcp!.orig.retransmissions]).toEqual([1, 0]);
  });

  it('from the same interface it is the sender\'s repeat, however soon', async () => {
    const c = await run({ dtUs: 5, ifindex: 2, ttl: 64, link: 'sll2' });
    expect([c.tcp!.orig.capture_duplicates, c.tcp!.orig.retransmissions]).toEqual([0, 1]);
    expect(c.history).toContain('T');
    // the same interface named, another TTL (a route change): still the sender's
    const d = await run({ dtUs: 5, ifindex: 2, ttl: 63, link: 'sll2' });
    expect([d.tcp!.orig.capture_duplicates, d.tcp!.orig.retransmissions]).toEqual([0, 1]);
    // Ethernet, the same TTL: nothing tells a copy
    const e = await run({ dtUs: 5, ifindex: 2, ttl: 64, link: 'eth' });
    expect([e.tcp!.orig.capture_duplicates, e.tcp!.orig.retransmissions]).toEqual([0, 1]);
  });

  it('from another interface 200 ms later it is a retransmission (a timer fired)', async () => {
    const c = await run({ dtUs: 200_000, ifindex: 3, ttl: 63, link: 'sll2' });
    expect([c.tcp!.orig.capture_duplicates, c.tcp!.orig.retransmissions]).toEqual([0, 1]);
    expect(c.history).toContain('T');
    const e = await run({ dtUs: 12_000, ifindex: 3, ttl: 63, link: 'sll2' });
    expect([e.tcp!.orig.capture_duplicates, e.tcp!.orig.retransmissions]).toEqual([0, 1]);
  });

  it('the sender\'s retransmission, seen again in pieces on the other interface, is one retransmission', async () => {
    const c = await conn([
      { us: 300, off: 0, len: 3000, ifindex: 2 },
      { us: 303, off: 0, len: 1500, ifindex: 3, ttl: 63 },
      { us: 304, off: 1500, len: 1500, ifindex: 3, ttl: 63 },
      { us: 200_300, off: 0, len: 3000, ifindex: 2, ipId: 9 },
      { us: 200_303, off: 0, len: 1500, ifindex: 3, ttl: 63, ipId: 9 },
      { us: 200_304, off: 1500, len: 1500, ifindex: 3, ttl: 63, ipId: 10 },
    ]);
    expect([c.tcp!.orig.retransmissions, c.tcp!.orig.retransmitted_bytes, c.tcp!.orig.capture_duplicates, c.tcp!.orig.packets]).toEqual([1, 3000, 4, 6]);
    expect(c.history).toContain('T');
  });

  it('a segment partly new whose repeated part came from another interface: its new part counts, its repeated part is no retransmitted byte', async () => {
    // the first piece on interface 2, one segment of both on interface 3, then the second piece on 2
    const c = await conn([
      { us: 300, off: 0, len: 1500, ifindex: 2 },
      { us: 302, off: 0, len: 3000, ifindex: 3, ipId: 3 },
      { us: 310, off: 1500, len: 1500, ifindex: 2 },
    ]);
    expect([c.tcp!.orig.retransmissions, c.tcp!.orig.retransmitted_bytes, c.tcp!.orig.capture_duplicates]).toEqual([0, 0, 1]);
    // from the same interface the overlap is the sender's: its repeated bytes are retransmitted bytes
    const same = await conn([
      { us: 300, off: 0, len: 1500, ifindex: 2 },
      { us: 302, off: 0, len: 3000, ifindex: 2, ipId: 3 },
    ]);
    expect([same.tcp!.orig.retransmissions, same.tcp!.orig.retransmitted_bytes, same.tcp!.orig.capture_duplicates]).toEqual([0, 1500, 0]);
  });
});

/**
 * tcpdump's text of an `-i any` capture names each packet's interface: a01 seen on two interfaces, the
 * server's 2214-byte flight split in two on the second (printed by `tcpdump -nn -r` from an SLL2 capture,
 * kept as a fixture so the test needs no tcpdump). The interface names tell the pieces are copies; with
 * the names made the same, the same lines read as a retransmission.
 */
describe('tcpdump text of -i any: the interface on each line', () => {
  const text = path.join(ROOT, 'test', 'fixtures', 'any-resegmented-a01.tcpdump.txt');
  const conn = async (file: string) => {
    const a = await analyzeCapture(file, { date: '2026-11-20' });
    expect(a.servers[0]!.verdict).toBe('healthy');
    return a.connections[0]!;
  };
  it('pieces on another interface are copies, not retransmissions', async () => {
    const c = await conn(text);
    expect(c.history).not.toMatch(/[Tt]/);
    expect(c.retransmissions).toEqual({ orig: 0, resp: 0 });
    // every line of the second interface is a copy: the exact ones and the two pieces of the split flight
    const second = fs.readFileSync(text, 'utf8').split('\n').filter((l) => / ifb1 /.test(l)).length;
    expect(c.tcp!.orig.capture_duplicates + c.tcp!.resp.capture_duplicates).toBe(second);
  });
  it('the same lines with one interface name read as a retransmission (what the name tells)', async () => {
    const one = path.join(tmp, 'any-one-interface.txt');
    fs.writeFileSync(one, fs.readFileSync(text, 'utf8').replace(/ ifb1 {2}Out /g, ' ifb0  Out '));
    const c = await conn(one);
    expect(c.history).toMatch(/t/);
  });
});
