/**
 * tcp.stream as tshark numbers it: an index per TCP conversation in first-seen order; a SYN (without
 * ACK) whose sequence number differs from the first one seen in that direction starts a new
 * conversation on the same ports (port reuse). The TCP header an ICMP error quotes belongs to the
 * conversation it names, as in tshark, which creates that conversation when it has not seen it.
 */
import { PROTO_TCP, TCP_ACK, TCP_SYN, type Packet } from '../decode/view.js';
import { FlowTable } from './table.js';

interface StreamState {
  index: number;
  /** first sequence number seen from A and from B, -1 none yet */
  baseA: number;
  baseB: number;
}

export class TcpStreamIndex {
  private readonly table = new FlowTable<StreamState>();
  private next = 0;

  get count(): number {
    return this.next;
  }

  /** the tcp.stream of a TCP packet (p.isTcp must hold) */
  index(p: Packet): number {
    let e = this.table.get(p);
    const syn = (p.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (e && syn) {
      const base = this.table.forward ? e.value.baseA : e.value.baseB;
      if (base >= 0 && base !== p.tcpSeq) {
        this.table.delete(e);
        e = null;
      }
    }
    if (!e) e = this.table.add(p, { index: this.next++, baseA: -1, baseB: -1 });
    const s = e.value;
    if (this.table.forward) {
      if (s.baseA < 0) s.baseA = p.tcpSeq;
    } else if (s.baseB < 0) s.baseB = p.tcpSeq;
    return s.index;
  }

  /** the tcp.stream of the TCP header quoted by an ICMP error in this packet, or -1 when none is quoted */
  quotedIndex(p: Packet): number {
    const q = p.quoted;
    if (!q.present || q.proto !== PROTO_TCP || q.srcPort < 0) return -1;
    const alen = q.ipVersion === 4 ? 4 : 16;
    const e = this.table.find(PROTO_TCP, p.tBuf, alen, q.srcOff, q.dstOff, q.srcPort, q.dstPort);
    if (e) return e.value.index;
    return this.table.insert(PROTO_TCP, p.tBuf, alen, q.srcOff, q.dstOff, q.srcPort, q.dstPort, { index: this.next++, baseA: -1, baseB: -1 }).value.index;
  }
}
