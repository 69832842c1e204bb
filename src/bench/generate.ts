/**
 * A deterministic synthetic capture for benchmarks and tests: classic pcap (little-endian, microseconds,
 * Ethernet), streamed to disk in 1 MiB blocks (each write awaited before the block is reused, so memory is
 * one block whatever the size). The mix:
 *
 * - TCP connections to port 8443, interleaved (a pool of concurrent connections): SYN and SYN-ACK with
 *   MSS, SACK-permitted, timestamps and window scale; ACK; TLS-like records of mixed sizes up to 1448
 *   bytes each way with delayed ACKs; FIN exchange. Some are refused (RST-ACK), some aborted (RST-ACK).
 *   A share of them are over IPv6, a few VLAN-tagged.
 * - background: other TCP (443, 22, 5432) with the same shapes, DNS over UDP (IPv4 and IPv6),
 *   ICMP echo.
 * - checksums: IPv4 header and UDP/ICMP checksums are correct; TCP checksums are correct except on
 *   segments sent by the capturing host `OFFLOAD_HOST`, whose field holds the folded pseudo-header sum
 *   (what a NIC with checksum offload leaves in a capture taken on the sender).
 * - frames under 60 bytes are padded to 60 unless sent by the capturing host (as on the wire).
 *
 * Checksums are computed here with their own code, not the decoder's, so tests comparing the two check
 * something.
 */
import fs from 'node:fs';

export const SERVER_PORT = 8443;
/** the capturing host: its outgoing TCP segments carry the offload pattern */
export const OFFLOAD_HOST = '10.99.0.1';
/** bump when the generator's output changes, so cached files are not reused */
export const GENERATOR_VERSION = 1;

export interface SyntheticOptions {
  /** stop after this many packets */
  packets?: number;
  /** stop once the file holds at least this many bytes */
  bytes?: number;
  /** PRNG seed (default 1) */
  seed?: number;
}

export interface SyntheticSummary {
  packets: number;
  bytes: number;
  seed: number;
  /** TCP connections started to port 8443 */
  connections8443: number;
  /** TCP connections started to other ports */
  connectionsOther: number;
  tcpSegments: number;
  /** TCP segments whose checksum field holds the offload pattern (all others are correct) */
  tcpOffload: number;
  udp: number;
  icmp: number;
  ipv6: number;
  vlan: number;
}

/** mulberry32: small, fast, good enough for traffic shapes; deterministic for a seed */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** uniform in [0, 1) */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** uniform integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  /** uniform integer in [lo, hi] */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
}

// ---- checksums (RFC 1071), independent of src/decode/checksum.ts
function sum(b: Uint8Array, off: number, len: number, s: number): number {
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (len & 1) s += b[off + len - 1]! << 8;
  return s;
}
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

const MAX_FRAME = 16 + 18 + 40 + 60 + 1448 + 64;
const BLOCK = 1 << 20;
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
const OPT_NONE = 0;
const OPT_SYN = 1;
const OPT_TS = 2;

const enum Phase {
  Syn,
  SynAck,
  Ack,
  Data,
  Fin2,
  Fin3,
  Done,
}

interface Conn {
  v6: boolean;
  vlan: number;
  client: Uint8Array;
  server: Uint8Array;
  cPort: number;
  sPort: number;
  /** the client is the capturing host (its segments carry the offload pattern) */
  clientOffload: boolean;
  refused: boolean;
  abort: boolean;
  phase: Phase;
  cSeq: number;
  sSeq: number;
  cTsBase: number;
  sTsBase: number;
  flowLabel: number;
  exchanges: number;
  reqLeft: number;
  respLeft: number;
  unacked: number;
  first: boolean;
  ipId: number;
  sIpId: number;
}

const CLIENT_MAC = Uint8Array.of(0x02, 0x00, 0x5e, 0x10, 0x00, 0x01);
const SERVER_MAC = Uint8Array.of(0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe);

function v4(a: number, b: number, c: number, d: number): Uint8Array {
  return Uint8Array.of(a, b, c, d);
}
function v6(tail: number, net: number): Uint8Array {
  const x = new Uint8Array(16);
  x[0] = 0x20;
  x[1] = 0x01;
  x[2] = 0x0d;
  x[3] = 0xb8;
  x[4] = net >> 8;
  x[5] = net & 255;
  x[12] = (tail >>> 24) & 255;
  x[13] = (tail >>> 16) & 255;
  x[14] = (tail >>> 8) & 255;
  x[15] = tail & 255;
  return x;
}

const OFFLOAD_ADDR = Uint8Array.from(OFFLOAD_HOST.split('.').map(Number));
const SERVERS4 = [v4(192, 0, 2, 10), v4(192, 0, 2, 11), v4(198, 51, 100, 20)];
const SERVERS6 = [v6(0x10, 0xffff), v6(0x11, 0xffff)];
const OTHER4 = [v4(172, 16, 0, 5), v4(172, 16, 0, 6), v4(203, 0, 113, 7)];
const OTHER_PORTS = [443, 22, 5432];
const DNS4 = v4(10, 0, 0, 53);
const DNS6 = v6(0x53, 0);
const NAMES = ['ssm-onprem', 'vmanage', 'ntp', 'updates', 'api', 'smart-receiver', 'mail', 'ldap'];
const DOMAINS = ['example.com', 'corp.example.net', 'lab.example.org'];

/** The traffic model: call next() to append one pcap record to a buffer. */
export class SyntheticTraffic {
  readonly summary: SyntheticSummary;
  private readonly rng: Rng;
  private readonly pool: Conn[] = [];
  private readonly noise: Uint8Array;
  private usec = 0;
  private sec = 1_700_000_000;
  private nextPort = 32768;
  private nextClient = 0;
  private dnsPending: { v6: boolean; client: Uint8Array; port: number; id: number; name: number; type: number } | null = null;
  private icmpSeq = 0;
  // the record being built
  private out: Uint8Array = new Uint8Array(0);
  private pos = 0;

  constructor(seed = 1, concurrency = 200) {
    this.rng = new Rng(seed);
    this.summary = {
      packets: 0,
      bytes: 24,
      seed,
      connections8443: 0,
      connectionsOther: 0,
      tcpSegments: 0,
      tcpOffload: 0,
      udp: 0,
      icmp: 0,
      ipv6: 0,
      vlan: 0,
    };
    this.noise = new Uint8Array(65536 + 2048);
    for (let i = 0; i < this.noise.length; i += 4) {
      const r = this.rng.u32();
      this.noise[i] = r & 255;
      this.noise[i + 1] = (r >>> 8) & 255;
      this.noise[i + 2] = (r >>> 16) & 255;
      this.noise[i + 3] = r >>> 24;
    }
    for (let i = 0; i < concurrency; i++) this.pool.push(this.newConn());
  }

  /** the 24-byte pcap file header (little-endian, microseconds, Ethernet, snaplen 262144) */
  static fileHeader(): Uint8Array {
    const h = new Uint8Array(24);
    const v = new DataView(h.buffer);
    v.setUint32(0, 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, 262144, true);
    v.setUint32(20, 1, true);
    return h;
  }

  /** the most bytes one call of next() may write */
  static readonly MAX_RECORD = MAX_FRAME;

  /** write the next record at out[pos]; returns the position after it */
  next(out: Uint8Array, pos: number): number {
    this.out = out;
    this.pos = pos;
    // time moves by 1..200 µs, with an occasional pause
    this.usec += this.rng.float() < 0.01 ? this.rng.range(1000, 50000) : this.rng.range(1, 200);
    if (this.usec >= 1_000_000) {
      this.sec += Math.floor(this.usec / 1_000_000);
      this.usec %= 1_000_000;
    }
    const r = this.rng.float();
    if (r < 0.86) {
      const i = this.rng.int(this.pool.length);
      const c = this.pool[i]!;
      this.step(c);
      if (c.phase === Phase.Done) this.pool[i] = this.newConn();
    } else if (r < 0.97 || this.dnsPending) this.dns();
    else this.icmp();
    const n = this.pos - pos;
    this.summary.packets++;
    this.summary.bytes += n;
    return this.pos;
  }

  private newConn(): Conn {
    const rng = this.rng;
    const to8443 = rng.float() < 0.85;
    if (to8443) this.summary.connections8443++;
    else this.summary.connectionsOther++;
    const isV6 = rng.float() < 0.08;
    const offload = !isV6 && to8443 && rng.float() < 0.12;
    const k = this.nextClient++;
    const client = offload ? OFFLOAD_ADDR : isV6 ? v6(0x1000 + (k % 4000), 1) : v4(10, 1 + ((k >> 16) & 63), (k >> 8) & 255, 1 + (k % 254));
    const server = isV6
      ? SERVERS6[rng.int(SERVERS6.length)]!
      : to8443
        ? SERVERS4[rng.int(SERVERS4.length)]!
        : OTHER4[rng.int(OTHER4.length)]!;
    this.nextPort = this.nextPort >= 60999 ? 32768 : this.nextPort + 1;
    return {
      v6: isV6,
      vlan: rng.float() < 0.01 ? 100 + rng.int(4) : -1,
      client,
      server,
      cPort: this.nextPort,
      sPort: to8443 ? SERVER_PORT : OTHER_PORTS[rng.int(OTHER_PORTS.length)]!,
      clientOffload: offload,
      refused: rng.float() < 0.03,
      abort: rng.float() < 0.05,
      phase: Phase.Syn,
      cSeq: rng.u32(),
      sSeq: rng.u32(),
      cTsBase: rng.u32(),
      sTsBase: rng.u32(),
      flowLabel: rng.u32() & 0xfffff,
      exchanges: rng.range(1, 6),
      reqLeft: 0,
      respLeft: 0,
      unacked: 0,
      first: true,
      ipId: rng.int(65536),
      sIpId: rng.int(65536),
    };
  }

  private step(c: Conn): void {
    const rng = this.rng;
    switch (c.phase) {
      case Phase.Syn:
        this.tcp(c, true, TCP_SYN, c.cSeq, 0, 0, OPT_SYN, 0);
        c.cSeq = (c.cSeq + 1) >>> 0;
        c.phase = Phase.SynAck;
        return;
      case Phase.SynAck:
        if (c.refused) {
          this.tcp(c, false, TCP_RST | TCP_ACK, 0, c.cSeq, 0, OPT_NONE, 0);
          c.phase = Phase.Done;
          return;
        }
        this.tcp(c, false, TCP_SYN | TCP_ACK, c.sSeq, c.cSeq, 0, OPT_SYN, 0);
        c.sSeq = (c.sSeq + 1) >>> 0;
        c.phase = Phase.Ack;
        return;
      case Phase.Ack:
        this.tcp(c, true, TCP_ACK, c.cSeq, c.sSeq, 0, OPT_TS, 0);
        c.phase = Phase.Data;
        return;
      case Phase.Data: {
        if (c.unacked >= 2 || (c.unacked > 0 && c.respLeft === 0)) {
          this.tcp(c, true, TCP_ACK, c.cSeq, c.sSeq, 0, OPT_TS, 0);
          c.unacked = 0;
          return;
        }
        if (c.reqLeft === 0 && c.respLeft === 0) {
          if (c.exchanges === 0) {
            if (c.abort) {
              this.tcp(c, true, TCP_RST | TCP_ACK, c.cSeq, c.sSeq, 0, OPT_NONE, 0);
              c.phase = Phase.Done;
              return;
            }
            this.tcp(c, true, TCP_FIN | TCP_ACK, c.cSeq, c.sSeq, 0, OPT_TS, 0);
            c.cSeq = (c.cSeq + 1) >>> 0;
            c.phase = Phase.Fin2;
            return;
          }
          c.exchanges--;
          c.reqLeft = c.first ? rng.range(200, 600) : rng.range(80, 2400);
          c.respLeft = c.first ? rng.range(1500, 6000) : rng.float() < 0.3 ? rng.range(2000, 30000) : rng.range(40, 1400);
        }
        if (c.reqLeft > 0) {
          const n = Math.min(c.reqLeft, 1448);
          c.reqLeft -= n;
          this.tcp(c, true, TCP_PSH | TCP_ACK, c.cSeq, c.sSeq, n, OPT_TS, c.first ? 0x16 : 0x17);
          c.cSeq = (c.cSeq + n) >>> 0;
          return;
        }
        const n = Math.min(c.respLeft, 1448);
        c.respLeft -= n;
        this.tcp(c, false, c.respLeft === 0 ? TCP_PSH | TCP_ACK : TCP_ACK, c.sSeq, c.cSeq, n, OPT_TS, c.first ? 0x16 : 0x17);
        c.sSeq = (c.sSeq + n) >>> 0;
        c.unacked++;
        if (c.respLeft === 0) c.first = false;
        return;
      }
      case Phase.Fin2:
        this.tcp(c, false, TCP_FIN | TCP_ACK, c.sSeq, c.cSeq, 0, OPT_TS, 0);
        c.sSeq = (c.sSeq + 1) >>> 0;
        c.phase = Phase.Fin3;
        return;
      case Phase.Fin3:
        this.tcp(c, true, TCP_ACK, c.cSeq, c.sSeq, 0, OPT_TS, 0);
        c.phase = Phase.Done;
        return;
      case Phase.Done:
        return;
    }
  }

  /** Ethernet (+ VLAN) + IP header; returns the offset of the IP header */
  private linkAndIp(isV6: boolean, vlan: number, fromClient: boolean, proto: number, src: Uint8Array, dst: Uint8Array, l4len: number, ipId: number, flowLabel: number): number {
    const b = this.out;
    let o = this.pos + 16;
    b.set(fromClient ? SERVER_MAC : CLIENT_MAC, o);
    b.set(fromClient ? CLIENT_MAC : SERVER_MAC, o + 6);
    o += 12;
    if (vlan >= 0) {
      b[o] = 0x81;
      b[o + 1] = 0x00;
      b[o + 2] = vlan >> 8;
      b[o + 3] = vlan & 255;
      o += 4;
      this.summary.vlan++;
    }
    const et = isV6 ? ETH_IPV6 : ETH_IPV4;
    b[o] = et >> 8;
    b[o + 1] = et & 255;
    o += 2;
    if (isV6) {
      this.summary.ipv6++;
      b[o] = 0x60;
      b[o + 1] = (flowLabel >> 16) & 15;
      b[o + 2] = (flowLabel >> 8) & 255;
      b[o + 3] = flowLabel & 255;
      b[o + 4] = l4len >> 8;
      b[o + 5] = l4len & 255;
      b[o + 6] = proto;
      b[o + 7] = 64;
      b.set(src, o + 8);
      b.set(dst, o + 24);
      return o;
    }
    const total = 20 + l4len;
    b[o] = 0x45;
    b[o + 1] = 0;
    b[o + 2] = total >> 8;
    b[o + 3] = total & 255;
    b[o + 4] = ipId >> 8;
    b[o + 5] = ipId & 255;
    b[o + 6] = proto === 17 ? 0x00 : 0x40;
    b[o + 7] = 0;
    b[o + 8] = fromClient ? 64 : 58;
    b[o + 9] = proto;
    b[o + 10] = 0;
    b[o + 11] = 0;
    b.set(src, o + 12);
    b.set(dst, o + 16);
    const ck = ~fold(sum(b, o, 20, 0)) & 0xffff;
    b[o + 10] = ck >> 8;
    b[o + 11] = ck & 255;
    return o;
  }

  private l4Checksum(isV6: boolean, ipOff: number, l4Off: number, l4len: number, proto: number, offload: boolean, ckAt: number): void {
    const b = this.out;
    let ps = isV6 ? sum(b, ipOff + 8, 32, 0) : sum(b, ipOff + 12, 8, 0);
    ps += proto + l4len;
    let ck: number;
    if (offload) ck = fold(ps);
    else {
      ck = ~fold(sum(b, l4Off, l4len, ps)) & 0xffff;
      if (ck === 0 && proto === 17) ck = 0xffff;
    }
    b[ckAt] = ck >> 8;
    b[ckAt + 1] = ck & 255;
  }

  private tcp(c: Conn, fromClient: boolean, flags: number, seq: number, ack: number, payload: number, opt: number, recordType: number): void {
    const b = this.out;
    const optLen = opt === OPT_SYN ? 20 : opt === OPT_TS ? 12 : 0;
    const hl = 20 + optLen;
    const l4len = hl + payload;
    const offload = fromClient && c.clientOffload;
    const src = fromClient ? c.client : c.server;
    const dst = fromClient ? c.server : c.client;
    let ipId = 0;
    if (fromClient) ipId = c.ipId = (c.ipId + 1) & 0xffff;
    else ipId = c.sIpId = (c.sIpId + 1) & 0xffff;
    const ip = this.linkAndIp(c.v6, c.vlan, fromClient, 6, src, dst, l4len, ipId, c.flowLabel);
    const t = ip + (c.v6 ? 40 : 20);
    const sp = fromClient ? c.cPort : c.sPort;
    const dp = fromClient ? c.sPort : c.cPort;
    b[t] = sp >> 8;
    b[t + 1] = sp & 255;
    b[t + 2] = dp >> 8;
    b[t + 3] = dp & 255;
    put32(b, t + 4, seq);
    put32(b, t + 8, flags & TCP_ACK ? ack : 0);
    b[t + 12] = (hl / 4) << 4;
    b[t + 13] = flags;
    const win = flags & TCP_SYN ? 64240 : flags & TCP_RST ? 0 : fromClient ? 501 : 2053;
    b[t + 14] = win >> 8;
    b[t + 15] = win & 255;
    b[t + 16] = b[t + 17] = b[t + 18] = b[t + 19] = 0;
    const ms = Math.floor((this.sec - 1_700_000_000) * 1000 + this.usec / 1000);
    const tsval = ((fromClient ? c.cTsBase : c.sTsBase) + ms) >>> 0;
    const tsecr = flags === TCP_SYN ? 0 : ((fromClient ? c.sTsBase : c.cTsBase) + ms - 1) >>> 0;
    let o = t + 20;
    if (opt === OPT_SYN) {
      const mss = c.v6 ? 1440 : 1460;
      b[o] = 2; // MSS
      b[o + 1] = 4;
      b[o + 2] = mss >> 8;
      b[o + 3] = mss & 255;
      b[o + 4] = 4; // SACK permitted
      b[o + 5] = 2;
      b[o + 6] = 8; // timestamps
      b[o + 7] = 10;
      put32(b, o + 8, tsval);
      put32(b, o + 12, tsecr);
      b[o + 16] = 1; // NOP
      b[o + 17] = 3; // window scale
      b[o + 18] = 3;
      b[o + 19] = fromClient ? 7 : 9;
      o += 20;
    } else if (opt === OPT_TS) {
      b[o] = 1;
      b[o + 1] = 1;
      b[o + 2] = 8;
      b[o + 3] = 10;
      put32(b, o + 4, tsval);
      put32(b, o + 8, tsecr);
      o += 12;
    }
    if (payload > 0) this.payload(o, payload, recordType);
    this.l4Checksum(c.v6, ip, t, l4len, 6, offload, t + 16);
    this.summary.tcpSegments++;
    if (offload) this.summary.tcpOffload++;
    this.finish(t + l4len, offload);
  }

  /** a TLS-like record header then noise */
  private payload(o: number, n: number, recordType: number): void {
    const b = this.out;
    const start = this.rng.int(65536);
    b.set(this.noise.subarray(start, start + n), o);
    if (n >= 5) {
      b[o] = recordType;
      b[o + 1] = 3;
      b[o + 2] = recordType === 0x16 ? 1 : 3;
      b[o + 3] = (n - 5) >> 8;
      b[o + 4] = (n - 5) & 255;
    }
  }

  private dns(): void {
    const rng = this.rng;
    const b = this.out;
    let isV6: boolean;
    let client: Uint8Array;
    let port: number;
    let id: number;
    let name: number;
    let type: number;
    const response = this.dnsPending !== null;
    if (this.dnsPending) {
      ({ v6: isV6, client, port, id, name, type } = this.dnsPending);
      this.dnsPending = null;
    } else {
      isV6 = rng.float() < 0.15;
      const k = rng.int(500);
      client = isV6 ? v6(0x2000 + k, 1) : v4(10, 2, k >> 8, 1 + (k & 255) % 254);
      port = rng.range(1024, 65535);
      id = rng.int(65536);
      name = rng.int(NAMES.length * DOMAINS.length);
      type = isV6 ? 28 : 1;
      if (rng.float() < 0.9) this.dnsPending = { v6: isV6, client, port, id, name, type };
    }
    const qname = `${NAMES[name % NAMES.length]}.${DOMAINS[Math.floor(name / NAMES.length)]}`;
    const qlen = qname.length + 2;
    const rdlen = type === 28 ? 16 : 4;
    const dnsLen = 12 + qlen + 4 + (response ? 12 + rdlen : 0);
    const l4len = 8 + dnsLen;
    const server = isV6 ? DNS6 : DNS4;
    const ip = this.linkAndIp(isV6, -1, !response, 17, response ? server : client, response ? client : server, l4len, rng.int(65536), 0);
    const u = ip + (isV6 ? 40 : 20);
    const sp = response ? 53 : port;
    const dp = response ? port : 53;
    b[u] = sp >> 8;
    b[u + 1] = sp & 255;
    b[u + 2] = dp >> 8;
    b[u + 3] = dp & 255;
    b[u + 4] = l4len >> 8;
    b[u + 5] = l4len & 255;
    b[u + 6] = b[u + 7] = 0;
    let o = u + 8;
    b[o] = id >> 8;
    b[o + 1] = id & 255;
    b[o + 2] = response ? 0x81 : 0x01;
    b[o + 3] = response ? 0x80 : 0x00;
    b[o + 4] = 0;
    b[o + 5] = 1;
    b[o + 6] = 0;
    b[o + 7] = response ? 1 : 0;
    b[o + 8] = b[o + 9] = b[o + 10] = b[o + 11] = 0;
    o += 12;
    for (const label of qname.split('.')) {
      b[o++] = label.length;
      for (let i = 0; i < label.length; i++) b[o++] = label.charCodeAt(i);
    }
    b[o++] = 0;
    b[o++] = 0;
    b[o++] = type;
    b[o++] = 0;
    b[o++] = 1;
    if (response) {
      b[o++] = 0xc0;
      b[o++] = 0x0c;
      b[o++] = 0;
      b[o++] = type;
      b[o++] = 0;
      b[o++] = 1;
      put32(b, o, 300);
      o += 4;
      b[o++] = 0;
      b[o++] = rdlen;
      for (let i = 0; i < rdlen; i++) b[o++] = this.noise[(id + i) & 0xffff]!;
    }
    this.l4Checksum(isV6, ip, u, l4len, 17, false, u + 6);
    this.summary.udp++;
    this.finish(u + l4len, false);
  }

  private icmp(): void {
    const rng = this.rng;
    const b = this.out;
    const reply = (this.icmpSeq & 1) === 1;
    const host = v4(10, 3, 0, 1 + (rng.int(20) % 254));
    const gw = v4(10, 0, 0, 1);
    const l4len = 8 + 56;
    const ip = this.linkAndIp(false, rng.float() < 0.05 ? 200 : -1, !reply, 1, reply ? gw : host, reply ? host : gw, l4len, rng.int(65536), 0);
    const t = ip + 20;
    b[t] = reply ? 0 : 8;
    b[t + 1] = 0;
    b[t + 2] = b[t + 3] = 0;
    b[t + 4] = 0x12;
    b[t + 5] = 0x34;
    const seq = this.icmpSeq++ >> 1;
    b[t + 6] = (seq >> 8) & 255;
    b[t + 7] = seq & 255;
    b.set(this.noise.subarray(1000, 1056), t + 8);
    const ck = ~fold(sum(b, t, l4len, 0)) & 0xffff;
    b[t + 2] = ck >> 8;
    b[t + 3] = ck & 255;
    this.summary.icmp++;
    this.finish(t + l4len, false);
  }

  /** pad short frames (unless sent by the capturing host) and write the record header */
  private finish(end: number, fromCaptureHost: boolean): void {
    const b = this.out;
    const start = this.pos + 16;
    let len = end - start;
    if (len < 60 && !fromCaptureHost) {
      b.fill(0, end, start + 60);
      len = 60;
    }
    put32le(b, this.pos, this.sec);
    put32le(b, this.pos + 4, this.usec);
    put32le(b, this.pos + 8, len);
    put32le(b, this.pos + 12, len);
    this.pos = start + len;
  }
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}
function put32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 255;
  b[o + 1] = (v >>> 8) & 255;
  b[o + 2] = (v >>> 16) & 255;
  b[o + 3] = (v >>> 24) & 255;
}

/**
 * Write a synthetic capture to `path`, streaming: records are built in a 1 MiB block and each block's write
 * is awaited before the block is reused. Stops at `packets` or `bytes`, whichever comes first (default
 * 10000 packets). The file is written under a temporary name and renamed when complete.
 */
export async function writeSyntheticCapture(path: string, opts: SyntheticOptions = {}): Promise<SyntheticSummary> {
  const maxPackets = opts.packets ?? (opts.bytes ? Infinity : 10_000);
  const maxBytes = opts.bytes ?? Infinity;
  const gen = new SyntheticTraffic(opts.seed ?? 1);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    const block = new Uint8Array(BLOCK);
    const header = SyntheticTraffic.fileHeader();
    block.set(header, 0);
    let pos = header.length;
    let written = header.length;
    while (gen.summary.packets < maxPackets && written < maxBytes) {
      if (pos + MAX_FRAME > BLOCK) {
        await writeAll(fh, block, pos);
        pos = 0;
      }
      const next = gen.next(block, pos);
      written += next - pos;
      pos = next;
    }
    await writeAll(fh, block, pos);
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, path);
  return gen.summary;
}

async function writeAll(fh: fs.promises.FileHandle, block: Uint8Array, len: number): Promise<void> {
  let off = 0;
  while (off < len) {
    const { bytesWritten } = await fh.write(block, off, len - off);
    off += bytesWritten;
  }
}
