/**
 * TCP connections, keyed by both endpoints, described in Zeek's vocabulary (conn_state, history) plus
 * per-direction facts a diagnosis needs: retransmissions, duplicate ACKs, SACK, zero windows,
 * out-of-order, gaps (capture loss versus snaplen), handshake RTT, super-segments larger than the MSS.
 * Each direction's payload is reassembled for whoever attaches a consumer.
 */
import type { Packet } from '../decode/view.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/view.js';
import { StreamReassembler, type StreamConsumer } from './reassembly.js';
import { FlowTable, formatAddr } from './table.js';

export interface Endpoint {
  addr: string;
  port: number;
}

/** a frame worth showing as evidence: number, time, direction and what it was */
export interface ConnEvent {
  frame: number;
  time: number;
  /** 'c' client to server, 's' server to client */
  dir: 'c' | 's';
  what: string;
}

/** a new data segment: who sent how many bytes, when */
export interface Segment {
  /** 'c' client to server, 's' server to client */
  dir: 'c' | 's';
  frame: number;
  time: number;
  len: number;
  /** FIN or RST with it */
  fin: boolean;
  /** the snaplen cut its payload */
  cut: boolean;
}

const SEG_SLOTS = 3;
const SEG_C = 1;
const SEG_FIN = 2;
const SEG_CUT = 4;

/**
 * Segments in capture order, packed three numbers each in one array (frame, time, length and flags):
 * one object per connection instead of one per segment, which would outlive the young generation with
 * its connection. Read by index, or as objects (made on demand, for judging and drawing).
 */
export class SegmentLog {
  private v: number[] = [];
  length = 0;

  push(dir: 'c' | 's', frame: number, time: number, len: number, fin: boolean, cut: boolean): void {
    this.v.push(frame, time, len * 8 + (dir === 'c' ? SEG_C : 0) + (fin ? SEG_FIN : 0) + (cut ? SEG_CUT : 0));
    this.length++;
  }

  dir(i: number): 'c' | 's' {
    return this.v[i * SEG_SLOTS + 2]! & SEG_C ? 'c' : 's';
  }

  frame(i: number): number {
    return this.v[i * SEG_SLOTS]!;
  }

  time(i: number): number {
    return this.v[i * SEG_SLOTS + 1]!;
  }

  len(i: number): number {
    return Math.floor(this.v[i * SEG_SLOTS + 2]! / 8);
  }

  at(i: number): Segment | undefined {
    if (i < 0 || i >= this.length) return undefined;
    const k = i * SEG_SLOTS;
    const x = this.v[k + 2]!;
    return { dir: x & SEG_C ? 'c' : 's', frame: this.v[k]!, time: this.v[k + 1]!, len: Math.floor(x / 8), fin: (x & SEG_FIN) !== 0, cut: (x & SEG_CUT) !== 0 };
  }

  /** the segments as objects (made now: for a connection's judging or its drawing, not kept) */
  toArray(): Segment[] {
    const out: Segment[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.at(i)!);
    return out;
  }

  clear(): void {
    this.v = [];
    this.length = 0;
  }
}

export class DirStats {
  packets = 0;
  /** payload bytes on the wire, retransmissions included */
  payloadBytes = 0;
  syn = 0;
  synFrame = 0;
  isn = -1;
  finFrame = 0;
  rstFrame = 0;
  dupAcks = 0;
  zeroWindows = 0;
  sackBlocks = 0;
  mss = -1;
  wscale = -1;
  maxSegment = 0;
  /** segments longer than the peer's MSS: TSO/GRO on the capturing host, not an error */
  superSegments = 0;
  ttl = -1;
  checksumPartial = 0;
  checksumBad = 0;
  lastAck = -1;
  lastWindow = -1;
  /** ACK number relative to the peer's stream: how far the peer's data is acknowledged */
  ackedOff = 0;
  /** the highest stream offset sent (end of the last new byte) */
  sentOff = 0;
  /** times the sender repeated data the receiver had not acknowledged */
  unackedRetrans = 0;
  /** the stream offset of the first of those repeats (-1 none; 0 for bytes from before a mid-stream base) */
  unackedRetransOff = -1;
  readonly stream: StreamReassembler = new StreamReassembler(null);
  firstDataFrame = 0;
  lastDataFrame = 0;
  /**
   * Bytes this side sent that never reached the capture point: a later segment without data carries a
   * sequence number past everything captured from it (seen from a receiver whose path drops the sender's
   * large segments, only their absence and the small packets that follow are captured)
   */
  unseenBytes = 0;
  /** the stream offset those bytes reach */
  unseenEnd = 0;
  unseenFrame = 0;
  /**
   * Packets the capture holds twice (or more): the same TCP segment (sequence and acknowledgment numbers,
   * flags, window, length, checksum, timestamp option, IPv4 ID) again within DUP_WINDOW_SEC, as `tcpdump -i
   * any` records a packet once per interface it crosses (a bridge and its port, a VLAN and its parent, a
   * router's way in and out). The copies are left out of everything else: they are not retransmissions.
   * Also the same bytes in another segmentation from another interface (resegmentedCopies).
   */
  captureDuplicates = 0;
  /**
   * The last two segments of this direction, for telling copies: sequence number; acknowledgment number;
   * window and flags; length and checksum; IPv4 ID and timestamp value; time (-1: none)
   */
  dupSeq1 = -1;
  dupAck1 = -1;
  dupWf1 = -1;
  dupLc1 = -1;
  dupIt1 = -1;
  dupTime1 = -1;
  dupSeq2 = -1;
  dupAck2 = -1;
  dupWf2 = -1;
  dupLc2 = -1;
  dupIt2 = -1;
  dupTime2 = -1;
  /**
   * Of the captureDuplicates, the copies in another segmentation: the same bytes again, merged or split
   * differently (GRO on the way in, GSO/TSO on the way out), from another interface within DUP_WINDOW_SEC
   */
  resegmentedCopies = 0;
  /**
   * Where this direction's latest data segments were captured, for telling a re-segmented copy from a
   * retransmission: a ring of SOURCE_RUNS runs, newest at `runHead`, each SOURCE_SLOTS numbers (first and
   * end stream offset, time of its first and last segment, interface key, TTL). A run is contiguous bytes
   * from segments of one interface and TTL within SOURCE_RUN_SEC. Made at the direction's first data (a
   * plain array of doubles, as SegmentLog's: on the heap, no backing store of its own to track).
   */
  runs: number[] | null = null;
  runHead = 0;
  runCount = 0;
}

/**
 * How far apart two copies of one packet can be. A sender repeats a segment after its retransmission
 * timeout (200 ms and more) or a tail loss probe (10 ms and more), and with a timestamp option the
 * repeat carries a new TSval after a millisecond; a packet seen on two interfaces of the capturing host
 * is seen twice within microseconds.
 */
const DUP_WINDOW_SEC = 0.005;

const SOURCE_RUNS = 4;
const SOURCE_SLOTS = 6;
/** the longest time one source run spans (a run of one interface is cut into pieces this long) */
const SOURCE_RUN_SEC = 0.001;

/**
 * Which capture point a packet was seen at, as far as the link layer tells: the pcapng interface (0 in
 * pcap), the Linux cooked interface index (SLL2) and packet type (incoming, outgoing: SLL and SLL2), each
 * -1 when absent. Two views of one packet on a router's way in and out differ in at least one of them.
 */
function interfaceKey(p: Packet): number {
  return ((p.frame.interfaceId & 0xfff) + 1) * 1099511627776 + (p.sllIfindex + 1) * 256 + ((p.sllPktType + 1) & 0xff);
}

/** remember that bytes [start, end) of this direction were seen at `key` with `ttl` (copies left out are not noted) */
function noteSource(d: DirStats, start: number, end: number, time: number, key: number, ttl: number): void {
  let r = d.runs;
  if (r === null) r = d.runs = new Array<number>(SOURCE_RUNS * SOURCE_SLOTS).fill(0);
  if (d.runCount > 0) {
    const k = d.runHead * SOURCE_SLOTS;
    if (r[k + 1] === start && r[k + 4] === key && r[k + 5] === ttl && time >= r[k + 2]! && time - r[k + 2]! <= SOURCE_RUN_SEC) {
      r[k + 1] = end;
      r[k + 3] = time;
      return;
    }
    d.runHead = (d.runHead + 1) % SOURCE_RUNS;
  }
  if (d.runCount < SOURCE_RUNS) d.runCount++;
  const k = d.runHead * SOURCE_SLOTS;
  r[k] = start;
  r[k + 1] = end;
  r[k + 2] = time;
  r[k + 3] = time;
  r[k + 4] = key;
  r[k + 5] = ttl;
}

/** whether a packet seen at (`key`, `ttl`) was seen at another capture point than run `k` */
function otherPoint(r: number[], k: number, key: number, ttl: number, namesInterface: boolean): boolean {
  return r[k + 4] !== key || (!namesInterface && Math.abs(r[k + 5]! - ttl) === 1);
}

/**
 * Whether bytes [off, end) of this direction, all seen before, are a copy the capture made rather than the
 * sender's repeat: every one of them was seen within DUP_WINDOW_SEC of `time` at another capture point
 * (another interface key; when the link layer names no interface, a TTL one hop apart: a router's way in
 * and out), and none of them at this one. A sender's retransmission comes after a timer (a tail loss
 * probe 10 ms, a timeout 200 ms and more) and through the same interface with the same TTL; its own copy on
 * the other interface is a copy of it. Bytes older than the runs held are not known to be copies. Runs
 * only on the rare path (a segment repeats bytes); at most SOURCE_RUNS squared steps.
 */
function copiedElsewhere(d: DirStats, off: number, end: number, time: number, key: number, ttl: number, namesInterface: boolean): boolean {
  const r = d.runs;
  if (r === null) return false;
  const n = d.runCount;
  // (times either way: `-i any` merges its interfaces' packets in an order off by microseconds at times)
  // the same capture point saw some of these bytes just now: the sender repeats them
  for (let k = 0; k < n * SOURCE_SLOTS; k += SOURCE_SLOTS) {
    if (r[k]! < end && r[k + 1]! > off && time - r[k + 3]! <= DUP_WINDOW_SEC && r[k + 2]! - time <= DUP_WINDOW_SEC && !otherPoint(r, k, key, ttl, namesInterface)) return false;
  }
  let at = off;
  while (at < end) {
    let reach = at;
    for (let k = 0; k < n * SOURCE_SLOTS; k += SOURCE_SLOTS) {
      if (r[k]! <= at && r[k + 1]! > reach && time - r[k + 2]! <= DUP_WINDOW_SEC && r[k + 3]! - time <= DUP_WINDOW_SEC && otherPoint(r, k, key, ttl, namesInterface)) reach = r[k + 1]!;
    }
    if (reach === at) return false;
    at = reach;
  }
  return true;
}

export type ConnState = 'S0' | 'S1' | 'SF' | 'REJ' | 'S2' | 'S3' | 'RSTO' | 'RSTR' | 'RSTOS0' | 'RSTRH' | 'SH' | 'SHR' | 'OTH';

let nextConnId = 1;


export class Connection {
  /** unique in the process; a ConnTracker renumbers its connections 1, 2, ... per capture (stable whichever thread reads it) */
  id = nextConnId++;
  client!: Endpoint;
  server!: Endpoint;
  ipVersion = 4;
  /** the first packet seen was not the client's SYN */
  midstream = false;
  /** the first packet seen was the server's SYN-ACK: both streams are seen from their first byte all the same */
  openedBySynAck = false;
  firstFrame = 0;
  lastFrame = 0;
  start = 0;
  end = 0;
  /** epoch text of the first packet */
  startEpoch = '';
  readonly orig = new DirStats();
  readonly resp = new DirStats();
  private hist = '';
  /** handshake RTT at the capture point: SYN to SYN-ACK, SYN-ACK to ACK (seconds), -1 unknown */
  synAckRtt = -1;
  ackRtt = -1;
  private synTime = -1;
  private synAckTime = -1;
  /** the acknowledgment number of the first SYN-ACK (-1 none): the SYN it answers carries one less */
  synAckAck = -1;
  /** the acknowledgment number of the first RST/ACK (-1 none) */
  rstAck = -1;
  /** frames worth citing, in order (bounded) */
  readonly events: ConnEvent[] = [];
  /**
   * New data segments in capture order (the first 128): who sent how many bytes, when. What a capture
   * without payload (tcpdump text, a snaplen of 64) still tells about the exchange.
   */
  readonly segments = new SegmentLog();
  /** ICMP errors that quote this connection's packets */
  readonly icmp: { frame: number; time: number; from: string; type: number; code: number; v6: boolean; cut?: boolean }[] = [];
  /** the connection ended (FIN both ways or RST) */
  closed = false;
  /** nobody wants this connection: it leaves the table when it ends and is never reported */
  dropped = false;
  /** capture time when it closed (-1 open) */
  closedAt = -1;
  /** the frame whose packet closed it (0 open): closes happen one per packet, so this orders them */
  closeFrame = 0;
  /** its table entry (for retiring it) */
  entry: unknown = null;
  /** something attached by later stages (protocol session) */
  app: unknown = null;
  /** the direction of the last packet given to onPacket */
  lastFromClient = false;
  /** per-direction bookkeeping of later stages (the checksum ledger's counts): [to server, to client] */
  readonly ledger: [unknown, unknown] = [null, null];

  /** the last packet given to the tracker was a copy of one it had (see DirStats.captureDuplicates): left out */
  lastWasDuplicate = false;

  /**
   * Whether this packet is a copy of one of the last few of its direction (the capture saw it twice);
   * if not, it is remembered for the next ones.
   */
  isCaptureDuplicate(p: Packet, fromClient: boolean, time: number): boolean {
    const d = fromClient ? this.orig : this.resp;
    const seq = p.tcpSeq;
    const ack = p.tcpAck;
    const wf = p.tcpWindow * 256 + (p.tcpFlags & 0xff);
    const lc = (p.tcpLen > 0 ? p.tcpLen : 0) * 65536 + (p.tcpChecksum & 0xffff);
    // (IPv6 has no ID; a missing timestamp option is -1)
    const it = (p.ipVersion === 4 ? p.ipId : 0) * 4294967296 + (p.tcpTsVal + 1);
    if (
      (seq === d.dupSeq1 && ack === d.dupAck1 && wf === d.dupWf1 && lc === d.dupLc1 && it === d.dupIt1 && time - d.dupTime1 <= DUP_WINDOW_SEC && time >= d.dupTime1) ||
      (seq === d.dupSeq2 && ack === d.dupAck2 && wf === d.dupWf2 && lc === d.dupLc2 && it === d.dupIt2 && time - d.dupTime2 <= DUP_WINDOW_SEC && time >= d.dupTime2)
    ) {
      d.captureDuplicates++;
      if (d.captureDuplicates === 1) {
        this.event(p.frame.number, time, fromClient ? 'c' : 's', 'the same packet again (the capture saw it twice: on two interfaces); copies are left out');
      }
      return true;
    }
    // the same bytes in another segmentation (GRO merged them on one interface, GSO split them on the
    // other): a data segment whose bytes were all seen just now at another capture point, none at this one
    const len = p.tcpLen;
    let copy = false;
    if (len > 0 && d.runs !== null && (p.tcpFlags & (TCP_SYN | TCP_RST)) === 0 && ((p.tcpFlags & TCP_FIN) === 0 || d.finFrame !== 0)) {
      const off = (seq - d.isn - 1) >>> 0;
      if (off < 0x80000000 && off + len <= d.stream.next && copiedElsewhere(d, off, off + len, time, interfaceKey(p), p.ipTtl, p.sllIfindex >= 0)) {
        copy = true;
        d.captureDuplicates++;
        d.resegmentedCopies++;
        if (d.resegmentedCopies === 1) {
          this.event(p.frame.number, time, fromClient ? 'c' : 's', `the same ${len} bytes again, segmented differently, from another interface (the capture saw them twice: merged by GRO on one interface, split on the other); copies are left out`);
        }
      }
    }
    d.dupSeq2 = d.dupSeq1;
    d.dupAck2 = d.dupAck1;
    d.dupWf2 = d.dupWf1;
    d.dupLc2 = d.dupLc1;
    d.dupIt2 = d.dupIt1;
    d.dupTime2 = d.dupTime1;
    d.dupSeq1 = seq;
    d.dupAck1 = ack;
    d.dupWf1 = wf;
    d.dupLc1 = lc;
    d.dupIt1 = it;
    d.dupTime1 = time;
    return copy;
  }

  get history(): string {
    return this.hist;
  }

  addHistory(ch: string): void {
    if (!this.hist.includes(ch)) this.hist += ch;
  }

  event(frame: number, time: number, dir: 'c' | 's', what: string): void {
    if (this.events.length < 100) this.events.push({ frame, time, dir, what });
  }

  get established(): boolean {
    return this.orig.syn > 0 && this.resp.syn > 0 ? this.hist.includes('h') && (this.hist.includes('A') || this.hist.includes('D')) : this.midstream;
  }

  /** Zeek's conn_state from what each side did */
  get connState(): ConnState {
    const o = this.orig;
    const r = this.resp;
    const origSyn = o.syn > 0;
    const synAck = r.syn > 0;
    if (!origSyn && !synAck) return 'OTH';
    if (!origSyn) {
      if (r.rstFrame) return 'RSTRH';
      if (r.finFrame) return 'SHR';
      return 'OTH';
    }
    if (!synAck) {
      if (r.rstFrame) return 'REJ';
      if (o.rstFrame) return 'RSTOS0';
      if (o.finFrame) return 'SH';
      return 'S0';
    }
    if (o.rstFrame && (!r.rstFrame || o.rstFrame < r.rstFrame)) return 'RSTO';
    if (r.rstFrame) return 'RSTR';
    if (o.finFrame && r.finFrame) return 'SF';
    if (o.finFrame) return 'S2';
    if (r.finFrame) return 'S3';
    return 'S1';
  }

  get duration(): number {
    return this.end - this.start;
  }

  /** called by the tracker per packet with `fromClient` telling the direction */
  onPacket(p: Packet, fromClient: boolean, time: number): void {
    this.lastFromClient = fromClient;
    const d = fromClient ? this.orig : this.resp;
    const peer = fromClient ? this.resp : this.orig;
    const frame = p.frame.number;
    const flags = p.tcpFlags;
    const dir = fromClient ? 'c' : 's';
    if (this.firstFrame === 0) {
      this.firstFrame = frame;
      this.start = time;
      this.startEpoch = p.frame.timeEpoch();
    }
    this.lastFrame = frame;
    this.end = time;
    d.packets++;
    if (d.ttl < 0) d.ttl = p.ipTtl;
    if (p.tcpChecksumStatus === 'partial') d.checksumPartial++;
    else if (p.tcpChecksumStatus === 'bad') {
      d.checksumBad++;
      this.addHistory(fromClient ? 'C' : 'c');
    }
    const syn = (flags & TCP_SYN) !== 0;
    const ack = (flags & TCP_ACK) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const seq = p.tcpSeq;
    if (syn) {
      d.syn++;
      if (d.isn < 0 || !this.hasData(d)) d.isn = seq;
      if (d.synFrame === 0) d.synFrame = frame;
      if (p.tcpMss >= 0) d.mss = p.tcpMss;
      if (p.tcpWscale >= 0) d.wscale = p.tcpWscale;
      if (ack) {
        this.addHistory(fromClient ? 'H' : 'h');
        if (this.synAckAck < 0) this.synAckAck = p.tcpAck;
        if (this.synAckTime < 0) {
          this.synAckTime = time;
          if (this.synTime >= 0) this.synAckRtt = time - this.synTime;
        }
        this.event(frame, time, dir, d.syn > 1 ? 'SYN-ACK (again)' : 'SYN-ACK');
      } else {
        this.addHistory(fromClient ? 'S' : 's');
        if (this.synTime < 0) this.synTime = time;
        this.event(frame, time, dir, d.syn > 1 ? `SYN retransmitted (#${d.syn})` : 'SYN');
      }
      d.stream.next = 0;
    } else if (d.isn < 0) {
      // first packet of this direction seen mid-stream: its sequence number is the base
      d.isn = (seq - 1) >>> 0;
    }
    if (rst) {
      if (ack && this.rstAck < 0) this.rstAck = p.tcpAck;
      this.addHistory(fromClient ? 'R' : 'r');
      if (d.rstFrame === 0) d.rstFrame = frame;
      this.closed = true;
      this.event(frame, time, dir, ack ? 'RST/ACK' : 'RST');
    }
    if (p.tcpSackCount > 0) d.sackBlocks += p.tcpSackCount;
    // stream offsets: 0 is the first byte after the SYN
    const off = (seq - d.isn - 1) >>> 0;
    const len = p.tcpLen > 0 ? p.tcpLen : 0;
    if (ack && p.tcpAck >= 0 && peer.isn >= 0) {
      const acked = (p.tcpAck - peer.isn - 1) >>> 0;
      // a duplicate ACK: no data, same ACK and window as before, and data outstanding
      if (len === 0 && !syn && !fin && !rst && p.tcpAck === d.lastAck && p.tcpWindow === d.lastWindow && peer.sentOff > acked) d.dupAcks++;
      if (acked > d.ackedOff && acked < 0x80000000) {
        d.ackedOff = acked;
        // (bytes of the peer this ACK covers that the capture never saw: given up, not waited for)
        if (acked > peer.stream.next) peer.stream.ackTo(acked, frame);
      }
      d.lastAck = p.tcpAck;
    }
    if (p.tcpWindow === 0 && !rst && !syn) {
      d.zeroWindows++;
      this.addHistory(fromClient ? 'W' : 'w');
    }
    d.lastWindow = p.tcpWindow;
    // (bytes before the stream's base: seen mid-stream, the base is the first packet's, and the sender repeats
    // what it sent before the capture began)
    const before0 = off >= 0x80000000 ? 0x100000000 - off : 0;
    if (len > 0 && before0 > 0) {
      d.payloadBytes += len;
      d.lastDataFrame = frame;
      if (len > d.maxSegment) d.maxSegment = len;
      if (this.midstream && before0 < 1 << 24) {
        d.stream.stats.retransmissions++;
        d.stream.stats.retransmittedBytes += len;
        this.addHistory(fromClient ? 'T' : 't');
        // (never acknowledged by the peer: its last ACK is not past them)
        if (peer.lastAck < 0 || ((seq + len - peer.lastAck) | 0) > 0) {
          d.unackedRetrans++;
          if (d.unackedRetransOff < 0) d.unackedRetransOff = 0;
        }
        this.event(frame, time, dir, `retransmission of ${len} bytes sent before the capture began`);
      }
    } else if (len > 0) {
      d.payloadBytes += len;
      if (d.firstDataFrame === 0) d.firstDataFrame = frame;
      d.lastDataFrame = frame;
      if (len > d.maxSegment) d.maxSegment = len;
      if (peer.mss > 0 && len > peer.mss) d.superSegments++;
      this.addHistory(fromClient ? 'D' : 'd');
      const before = d.stream.next;
      // a segment partly new whose repeated part is a copy from another interface (see copiedElsewhere):
      // its new part counts as usual, its repeated part is neither retransmitted bytes nor a duplicate
      const copied = off < before && off + len > before && off < 0x80000000 && copiedElsewhere(d, off, before, time, interfaceKey(p), p.ipTtl, p.sllIfindex >= 0) ? before - off : 0;
      const retrans = d.stream.segmentIn(off, len, p.tBuf, p.tcpPayloadOff, p.tcpPayloadCapLen, frame, time);
      if (copied > 0) d.stream.notRetransmitted(copied);
      if (off < 0x80000000) noteSource(d, off, off + len, time, interfaceKey(p), p.ipTtl);
      if (retrans) {
        this.addHistory(fromClient ? 'T' : 't');
        if (off + len > peer.ackedOff) {
          d.unackedRetrans++;
          if (d.unackedRetransOff < 0) d.unackedRetransOff = off;
        }
        this.event(frame, time, dir, `retransmission of ${len} bytes at offset ${off}`);
      } else if (this.segments.length < 128) this.segments.push(dir, frame, time, len, fin || rst, p.tcpPayloadCapLen < len);
      if (off + len > d.sentOff && off < 0x80000000) d.sentOff = off + len;
      if (d.stream.stats.lostBytes > 0) this.addHistory(fromClient ? 'G' : 'g');
    } else {
      if (ack && !syn && !fin && !rst) this.addHistory(fromClient ? 'A' : 'a');
      // a segment without data whose sequence number is past every byte captured from this side: bytes
      // sent that the capture never saw (bounded, so a stray RST's arbitrary sequence number is not taken)
      // (bytes the peer acknowledged already were received: the capture missed them, the path did not)
      if (!syn && !rst && d.isn >= 0 && off > d.stream.next && off > d.stream.acked && off - d.stream.next < 1 << 24 && off - d.stream.next > d.unseenBytes) {
        d.unseenBytes = off - d.stream.next;
        d.unseenEnd = off;
        d.unseenFrame = frame;
      }
    }
    if (fin) {
      this.addHistory(fromClient ? 'F' : 'f');
      if (d.finFrame === 0) {
        d.finFrame = fin ? frame : 0;
        this.event(frame, time, dir, 'FIN');
      }
      if (this.orig.finFrame && this.resp.finFrame) this.closed = true;
    }
    if (!syn && ack && this.synAckTime >= 0 && this.ackRtt < 0 && fromClient) this.ackRtt = time - this.synAckTime;
  }

  /** a packet of a connection nobody wants: when it was seen and whether it ended, nothing else */
  lightPacket(p: Packet, fromClient: boolean, time: number): void {
    this.lastFromClient = fromClient;
    this.lastFrame = p.frame.number;
    this.end = time;
    const flags = p.tcpFlags;
    if (flags & TCP_RST) this.closed = true;
    else if (flags & TCP_FIN) {
      const d = fromClient ? this.orig : this.resp;
      if (d.finFrame === 0) d.finFrame = p.frame.number;
      if (this.orig.finFrame && this.resp.finFrame) this.closed = true;
    }
  }

  private hasData(d: DirStats): boolean {
    return d.payloadBytes > 0;
  }

  /** flush both streams at the end of the capture */
  finish(): void {
    this.orig.stream.flush(this.lastFrame);
    this.resp.stream.flush(this.lastFrame);
    // bytes the receiver acknowledged that the capture never saw, with nothing captured after them (its
    // FIN takes a sequence number of its own). Not for a connection seen mid-stream: its sequence base is a
    // guess from its first packet, one byte early when that was a keep-alive probe (SND.NXT - 1)
    if (!this.midstream) {
      this.orig.stream.loseAckedTail(this.resp.ackedOff - (this.orig.finFrame ? 1 : 0), this.lastFrame);
      this.resp.stream.loseAckedTail(this.orig.ackedOff - (this.resp.finFrame ? 1 : 0), this.lastFrame);
    }
    if (this.orig.stream.stats.lostBytes > 0) this.addHistory('G');
    if (this.resp.stream.stats.lostBytes > 0) this.addHistory('g');
  }
}

export interface TrackerOptions {
  /** the server port of interest (orients connections seen mid-stream) */
  port: number;
  /** called when a connection is created, to attach stream consumers */
  onOpen?: (c: Connection) => void;
  /** called when the SYN of a connection first seen by its SYN-ACK or RST/ACK comes after it: it is not mid-stream after all */
  onLateSyn?: (c: Connection) => void;
  /** called when a connection ends (RST, FIN both ways, or end of capture) */
  onClose?: (c: Connection) => void;
  /** asked after each packet until it says true: then the connection is dropped */
  unwanted?: (c: Connection) => boolean;
}

/** The connection table. A new SYN on ports whose previous connection closed starts a new connection. */
export class ConnTracker {
  private readonly table = new FlowTable<{ conn: Connection; aIsClient: boolean }>();
  /** connections in order of their first packet (dropped ones are compacted away as they pile up) */
  all: Connection[] = [];
  private compactAt = 4096;
  private lastId = 0;

  constructor(private readonly opts: TrackerOptions) {}

  /** connections held: in the table or waiting to be judged (dropped ones that ended are not counted) */
  get tracked(): number {
    let n = 0;
    for (const c of this.all) if (!(c.dropped && c.closed)) n++;
    return n;
  }

  /** the next connection number of this capture */
  nextId(): number {
    return ++this.lastId;
  }

  /** track a decoded TCP packet; returns its connection */
  add(p: Packet, time: number): Connection {
    const t = this.table;
    let e = t.get(p);
    const syn = (p.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (e && syn) {
      const c = e.value.conn;
      const fromClient = t.forward === e.value.aIsClient;
      // the SYN-ACK came first in the capture (an `-i any` capture, or captures of two hosts merged, stamp the
      // two directions on different clocks): this is the SYN it answers, not a new connection
      // (or its refusal, a RST/ACK of the SYN, came first)
      const answered = c.resp.syn > 0 ? c.synAckAck : c.resp.rstFrame ? c.rstAck : -1;
      if (fromClient && c.midstream && c.orig.packets === 0 && answered >= 0 && ((p.tcpSeq + 1) >>> 0) === answered) {
        c.midstream = false;
        // (one on another port was let go at its first packet, as one seen mid-stream: it is wanted again)
        if (c.dropped && !c.closed) c.dropped = false;
        this.opts.onLateSyn?.(c);
      }
      // a SYN after the connection closed, or a SYN with another ISN, or a SYN from the former server: a new connection
      else if (c.closed || !fromClient || (c.orig.isn >= 0 && c.orig.isn !== p.tcpSeq && c.orig.payloadBytes + c.resp.payloadBytes > 0) || c.resp.syn > 0 && c.orig.isn !== p.tcpSeq) {
        this.close(e.value.conn, p.frame.number);
        t.delete(e);
        e = null;
      }
    }
    if (!e) {
      const c = new Connection();
      c.id = this.nextId();
      c.ipVersion = p.ipVersion;
      const src = { addr: formatAddr(p.buf.subarray(p.srcOff, p.srcOff + (p.ipVersion === 4 ? 4 : 16))), port: p.srcPort };
      const dst = { addr: formatAddr(p.buf.subarray(p.dstOff, p.dstOff + (p.ipVersion === 4 ? 4 : 16))), port: p.dstPort };
      const synAck = (p.tcpFlags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
      let srcIsClient: boolean;
      if (syn) srcIsClient = true;
      else if (synAck) srcIsClient = false;
      else if (p.dstPort === this.opts.port) srcIsClient = true;
      else if (p.srcPort === this.opts.port) srcIsClient = false;
      else srcIsClient = p.srcPort > p.dstPort;
      c.client = srcIsClient ? src : dst;
      c.server = srcIsClient ? dst : src;
      c.midstream = !syn;
      c.openedBySynAck = synAck;
      if (this.all.length >= this.compactAt) {
        this.all = this.all.filter((x) => !(x.dropped && x.closed));
        this.compactAt = Math.max(4096, this.all.length * 2);
      }
      this.all.push(c);
      e = t.add(p, { conn: c, aIsClient: srcIsClient });
      c.entry = e;
      this.opts.onOpen?.(c);
    }
    const fromClient = t.forward === e.value.aIsClient;
    const c = e.value.conn;
    if (c.dropped) {
      // nobody wants it: only its end matters, to let it go
      c.lightPacket(p, fromClient, time);
      if (c.closed) this.table.delete(e);
      return c;
    }
    c.lastWasDuplicate = c.isCaptureDuplicate(p, fromClient, time);
    if (c.lastWasDuplicate) {
      c.lastFromClient = fromClient;
      return c;
    }
    const wasClosed = c.closed;
    c.onPacket(p, fromClient, time);
    if (c.closed && !wasClosed) {
      c.closedAt = time;
      c.closeFrame = p.frame.number;
      this.opts.onClose?.(c);
    }
    if (!c.dropped && this.opts.unwanted?.(c)) this.drop(c);
    // a connection nobody wants leaves the table once it ends: memory follows open connections
    if (c.closed && c.dropped) this.table.delete(e);
    return c;
  }

  /** nobody needs this connection's bytes or its report: stop reassembling, forget it when it ends */
  drop(c: Connection): void {
    c.dropped = true;
    c.orig.stream.consumer = null;
    c.resp.stream.consumer = null;
  }

  /** find the connection an ICMP error's quoted packet belongs to (quoted src is our packet's source) */
  findQuoted(srcAddr: string, srcPort: number, dstAddr: string, dstPort: number): Connection | null {
    for (let i = this.all.length - 1; i >= 0; i--) {
      const c = this.all[i]!;
      if (c.client.addr === srcAddr && c.client.port === srcPort && c.server.addr === dstAddr && c.server.port === dstPort) return c;
      if (c.server.addr === srcAddr && c.server.port === srcPort && c.client.addr === dstAddr && c.client.port === dstPort) return c;
    }
    return null;
  }

  private close(c: Connection, frame: number): void {
    if (c.closed) return;
    c.closed = true;
    c.closedAt = c.end;
    c.closeFrame = frame;
    this.opts.onClose?.(c);
  }

  /**
   * A connection that was judged and summarised: it leaves the table and, as they pile up, the list;
   * its evidence lists are let go. A packet of it that still comes later starts a mid-stream connection.
   */
  retire(c: Connection): void {
    this.drop(c);
    if (c.entry) this.table.delete(c.entry as Parameters<typeof this.table.delete>[0]);
    c.entry = null;
    c.events.length = 0;
    c.segments.clear();
    c.orig.runs = c.resp.runs = null;
  }

  /**
   * Connections with no packet for a while leave the table, as Zeek's inactivity timeouts: one nobody
   * wants (dropped) after `droppedIdle` seconds of capture time, the others after `wantedIdle`, handed to
   * `onIdle` (which judges them as if the capture ended there). A packet of one that comes later starts
   * a mid-stream connection. Without this, connections whose end is never seen (a FIN lost, a stray ACK
   * after the close, a host that went away) would pile up for the whole capture.
   */
  expireIdle(now: number, wantedIdle: number, droppedIdle: number, onIdle: (c: Connection) => void): void {
    for (const c of this.all) {
      if (c.closed) continue;
      const idle = now - c.end;
      if (c.dropped) {
        if (idle <= droppedIdle) continue;
        c.closed = true;
        c.closedAt = now;
        if (c.entry) this.table.delete(c.entry as Parameters<typeof this.table.delete>[0]);
        c.entry = null;
      } else if (idle > wantedIdle) onIdle(c);
    }
  }

  /** end of capture: flush every stream */
  finish(): void {
    for (const c of this.all) c.finish();
  }
}

export function attachConsumers(c: Connection, toServer: StreamConsumer | null, toClient: StreamConsumer | null): void {
  c.orig.stream.consumer = toServer;
  c.resp.stream.consumer = toClient;
}
