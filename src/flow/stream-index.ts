/**
 * tcp.stream as tshark numbers it: an index per TCP conversation in first-seen order; a SYN (without
 * ACK) whose sequence number differs from the first one seen in that direction starts a new
 * conversation on the same ports (port reuse). The TCP header an ICMP error quotes belongs to the
 * conversation it names, as in tshark, which creates that conversation when it has not seen it.
 *
 * Memory. tshark keeps every conversation to the end; this index forgets one that has ended and gone
 * quiet, so its memory follows the conversations of the last few minutes, not the whole capture.
 * The rule: a conversation is forgotten once it is closed (a RST, or a FIN from each side) and no packet
 * of it (nor an ICMP error quoting it) has been seen for EVICT_IDLE_S seconds of capture time (the
 * largest frame time seen so far). That is 2*MSL with RFC 793's MSL of two minutes: longer than TCP's
 * TIME_WAIT, and than any retransmission of a FIN, RST or last ACK. The only packets that could still
 * come are a new SYN on the same ports, which tshark too numbers as a new conversation when its sequence
 * number differs from the first SYN's (a SYN reusing the old ISN four minutes later is not TCP's doing),
 * and stray segments of a connection both ends have already forgotten. For every other frame the
 * numbers are tshark's. Frames without a time do not move the clock, so they never cause forgetting.
 *
 * State is kept in typed-array columns by the FlowKeys id: no object per conversation, no heap numbers.
 */
import { PROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type Packet } from '../decode/view.js';
import { FlowKeys, grow } from './table.js';

/** seconds of capture time a closed conversation stays findable after its last packet (2 * MSL) */
export const EVICT_IDLE_S = 240;
/** how often (capture seconds) closed conversations are looked at */
const SWEEP_EVERY_S = 1;

const FIN_A = 1;
const FIN_B = 2;
const RST = 4;
const QUEUED = 8;

export class TcpStreamIndex {
  private readonly keys = new FlowKeys();
  private next = 0;
  /** per id: the tcp.stream (-1: id free), first sequence number from A and from B (-1: none yet) */
  private stream = new Int32Array(64).fill(-1);
  private baseA = new Float64Array(64);
  private baseB = new Float64Array(64);
  /** per id: frame time of its last packet (seconds), FIN/RST flags */
  private last = new Float64Array(64);
  private flags = new Uint8Array(64);
  /** capture time: the largest frame time seen, -Infinity before the first */
  private now = -Infinity;
  private nextSweep = -Infinity;
  /** closed conversations in order of closing: triples id, stream, time to look at it again */
  private closed: number[] = [];
  private closedHead = 0;
  private evictedCount = 0;

  constructor(private readonly idleSeconds = EVICT_IDLE_S) {}

  /** conversations numbered so far (tcp.stream values handed out) */
  get count(): number {
    return this.next;
  }

  /** conversations held now (numbered ones minus the ones forgotten) */
  get live(): number {
    return this.keys.size;
  }

  /** conversations forgotten after they ended (see the file comment) */
  get evicted(): number {
    return this.evictedCount;
  }

  /** the tcp.stream of a TCP packet (p.isTcp must hold) */
  index(p: Packet): number {
    const t = this.tick(p);
    const keys = this.keys;
    const alen = p.ipVersion === 4 ? 4 : 16;
    let id = keys.find(PROTO_TCP, p.buf, alen, p.srcOff, p.dstOff, p.srcPort, p.dstPort);
    const flags = p.tcpFlags;
    if (id >= 0 && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      const base = keys.forward ? this.baseA[id]! : this.baseB[id]!;
      if (base >= 0 && base !== p.tcpSeq) {
        this.remove(id);
        id = -1;
      }
    }
    if (id < 0) id = this.add(keys.insert(PROTO_TCP, p.buf, alen, p.srcOff, p.dstOff, p.srcPort, p.dstPort));
    if (keys.forward) {
      if (this.baseA[id]! < 0) this.baseA[id] = p.tcpSeq;
    } else if (this.baseB[id]! < 0) this.baseB[id] = p.tcpSeq;
    if (t > this.last[id]!) this.last[id] = t;
    if (flags > 0 && (flags & (TCP_FIN | TCP_RST)) !== 0) {
      const f = this.flags[id]! | (flags & TCP_RST ? RST : 0) | (flags & TCP_FIN ? (keys.forward ? FIN_A : FIN_B) : 0);
      this.flags[id] = f;
      if ((f & QUEUED) === 0 && (f & RST || (f & (FIN_A | FIN_B)) === (FIN_A | FIN_B))) {
        this.flags[id] = f | QUEUED;
        this.closed.push(id, this.stream[id]!, this.now);
      }
    }
    return this.stream[id]!;
  }

  /** the tcp.stream of the TCP header quoted by an ICMP error in this packet, or -1 when none is quoted */
  quotedIndex(p: Packet): number {
    const q = p.quoted;
    if (!q.present || q.proto !== PROTO_TCP || q.srcPort < 0) return -1;
    const t = this.tick(p);
    const alen = q.ipVersion === 4 ? 4 : 16;
    let id = this.keys.find(PROTO_TCP, p.tBuf, alen, q.srcOff, q.dstOff, q.srcPort, q.dstPort);
    if (id < 0) id = this.add(this.keys.insert(PROTO_TCP, p.tBuf, alen, q.srcOff, q.dstOff, q.srcPort, q.dstPort));
    if (t > this.last[id]!) this.last[id] = t;
    return this.stream[id]!;
  }

  /** advance the capture clock by this frame; forget what has been closed and quiet long enough */
  private tick(p: Packet): number {
    const f = p.frame;
    if (!f.hasTime) return this.now;
    const t = f.tsSec + f.tsNsec * 1e-9;
    if (t > this.now) {
      this.now = t;
      if (t >= this.nextSweep) {
        this.nextSweep = t + SWEEP_EVERY_S;
        this.sweep();
      }
    }
    return t;
  }

  private sweep(): void {
    const q = this.closed;
    const now = this.now;
    const idle = this.idleSeconds;
    let h = this.closedHead;
    while (h < q.length && q[h + 2]! + idle <= now) {
      const id = q[h]!;
      const s = q[h + 1]!;
      h += 3;
      if (this.stream[id] !== s) continue; // gone already (a new SYN took its ports)
      const last = this.last[id]!;
      if (last === -Infinity) continue; // seen only in frames without a time: never known to be quiet
      if (last + idle <= now) {
        this.remove(id);
        this.evictedCount++;
      } else q.push(id, s, last); // packets came after it closed: look again when they are old enough
    }
    if (h > 3 * 1024 && h * 2 > q.length) {
      this.closed = q.slice(h);
      h = 0;
    }
    this.closedHead = h;
  }

  /** a new conversation in id's columns */
  private add(id: number): number {
    if (id >= this.stream.length) {
      const n = this.stream.length * 2;
      const old = this.stream.length;
      this.stream = grow(this.stream, n);
      this.stream.fill(-1, old);
      this.baseA = grow(this.baseA, n);
      this.baseB = grow(this.baseB, n);
      this.last = grow(this.last, n);
      this.flags = grow(this.flags, n);
    }
    this.stream[id] = this.next++;
    this.baseA[id] = -1;
    this.baseB[id] = -1;
    this.last[id] = -Infinity;
    this.flags[id] = 0;
    return id;
  }

  private remove(id: number): void {
    this.keys.delete(id);
    this.stream[id] = -1;
  }
}
