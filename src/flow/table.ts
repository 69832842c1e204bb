/**
 * A hash table of transport flows keyed by both endpoints, the same entry for both directions (as
 * gopacket's flows). Lookups hash the address bytes in place: no key object or string per packet.
 */
import { copyBytes } from '../bytes.js';
import { formatIPv4, formatIPv6 } from '../decode/addr.js';
import type { Packet } from '../decode/view.js';

export interface FlowEntry<T> {
  /** endpoint A is the source of the first packet seen */
  readonly addrA: Uint8Array;
  readonly addrB: Uint8Array;
  readonly portA: number;
  readonly portB: number;
  readonly proto: number;
  /** the bucket it lives in */
  readonly hash: number;
  value: T;
}

export class FlowTable<T> {
  private readonly buckets = new Map<number, FlowEntry<T>[]>();
  private count = 0;
  /** the direction of the last lookup: true when the packet went from A to B */
  forward = true;

  get size(): number {
    return this.count;
  }

  /** find the entry of the packet's flow, or null; sets `forward` */
  get(p: Packet): FlowEntry<T> | null {
    return this.find(p.transport, p.buf, p.ipVersion === 4 ? 4 : 16, p.srcOff, p.dstOff, p.srcPort, p.dstPort);
  }

  /** add an entry for the packet's flow with the packet's source as A (call after get() returned null) */
  add(p: Packet, value: T): FlowEntry<T> {
    return this.insert(p.transport, p.buf, p.ipVersion === 4 ? 4 : 16, p.srcOff, p.dstOff, p.srcPort, p.dstPort, value);
  }

  /**
   * find a flow by its endpoints: addresses of `alen` bytes at `src` and `dst` in `b` (for headers other
   * than the packet's own, e.g. the one an ICMP error quotes); sets `forward`
   */
  find(proto: number, b: Uint8Array, alen: number, src: number, dst: number, sport: number, dport: number): FlowEntry<T> | null {
    const list = this.buckets.get(hashFlow(proto, b, alen, src, dst, sport, dport));
    if (!list) return null;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.proto !== proto || e.addrA.length !== alen) continue;
      if (e.portA === sport && e.portB === dport && same(e.addrA, b, src) && same(e.addrB, b, dst)) {
        this.forward = true;
        return e;
      }
      if (e.portA === dport && e.portB === sport && same(e.addrA, b, dst) && same(e.addrB, b, src)) {
        this.forward = false;
        return e;
      }
    }
    return null;
  }

  /** add a flow by its endpoints, the source as A (call after find() returned null) */
  insert(proto: number, b: Uint8Array, alen: number, src: number, dst: number, sport: number, dport: number, value: T): FlowEntry<T> {
    // copies, not views: a frame's buffer is often a Node Buffer (whose slice() is a view), and a view
    // here would keep the whole read chunk alive for as long as the flow lives
    const h = hashFlow(proto, b, alen, src, dst, sport, dport);
    const e: FlowEntry<T> = {
      addrA: copyBytes(b, src, src + alen),
      addrB: copyBytes(b, dst, dst + alen),
      portA: sport,
      portB: dport,
      proto,
      hash: h,
      value,
    };
    const list = this.buckets.get(h);
    if (list) list.push(e);
    else this.buckets.set(h, [e]);
    this.count++;
    this.forward = true;
    return e;
  }

  /** remove a flow (it ended, or a new connection takes its ports) */
  delete(e: FlowEntry<T>): void {
    const list = this.buckets.get(e.hash);
    const i = list ? list.indexOf(e) : -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.buckets.delete(e.hash);
    this.count--;
  }

  *entries(): IterableIterator<FlowEntry<T>> {
    for (const list of this.buckets.values()) yield* list;
  }
}

function same(a: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

/** direction-independent hash of the flow's endpoints */
function hashFlow(proto: number, b: Uint8Array, alen: number, src: number, dst: number, sport: number, dport: number): number {
  let hs = 0;
  let hd = 0;
  for (let i = 0; i < alen; i++) {
    hs = Math.imul(hs ^ b[src + i]!, 0x01000193);
    hd = Math.imul(hd ^ b[dst + i]!, 0x01000193);
  }
  hs = Math.imul(hs ^ sport, 0x9e3779b1);
  hd = Math.imul(hd ^ dport, 0x9e3779b1);
  // commutative combination: the same for both directions
  return ((hs + hd) ^ Math.imul(hs ^ hd, 0x85ebca6b) ^ proto) | 0;
}

export function formatAddr(a: Uint8Array): string {
  return a.length === 4 ? formatIPv4(a, 0) : formatIPv6(a, 0);
}
