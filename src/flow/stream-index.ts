/**
 * tcp.stream as tshark numbers it: an index per TCP conversation in first-seen order; a SYN (without
 * ACK) whose sequence number differs from the first one seen in that direction starts a new
 * conversation on the same ports (port reuse).
 */
import { TCP_ACK, TCP_SYN, type Packet } from '../decode/view.js';
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
}
