/**
 * Address resolution that never completes. When the server is on the client's own subnet and down (or
 * the address is wrong), the client's SYN never leaves: the capture holds only ARP requests (IPv4) or
 * Neighbor Solicitations (IPv6) for the server's address, and no answer. That is a transport failure seen
 * below TCP, and without this ledger a capture of it would read as "no traffic to the port".
 */
import { formatIPv4, formatIPv6 } from '../decode/addr.js';
import { PROTO_ICMPV6, type Packet } from '../decode/view.js';

const ETH_ARP = 0x0806;
const ARP_REQUEST = 1;
const ARP_REPLY = 2;
const ND_SOLICIT = 135;
const ND_ADVERT = 136;

export interface UnansweredNeighbor {
  /** the address asked for */
  address: string;
  /** who asked (the last asker) */
  asker: string;
  requests: number;
  first_frame: number;
  last_frame: number;
  /** seconds from the first request to the last */
  duration: number;
  protocol: 'arp' | 'ndp';
}

interface Entry {
  asker: string;
  requests: number;
  firstFrame: number;
  lastFrame: number;
  first: number;
  last: number;
  answered: boolean;
  v6: boolean;
}

/** most addresses tracked (a capture of a busy LAN asks for many; the first ones asked are kept) */
const MAX_ADDRESSES = 1024;

export class NeighborLedger {
  private readonly byAddr = new Map<string, Entry>();

  /** look at a frame the IP decoder did not take (ARP) or an ICMPv6 packet (neighbor discovery) */
  add(p: Packet, time: number): void {
    if (p.ipVersion === 0) {
      if (p.netType === ETH_ARP) this.arp(p, time);
    } else if (p.transport === PROTO_ICMPV6 && (p.icmpType === ND_SOLICIT || p.icmpType === ND_ADVERT)) this.nd(p, time);
  }

  private arp(p: Packet, time: number): void {
    const b = p.buf;
    const o = p.netOff;
    // Ethernet/IPv4 ARP: htype 1, ptype 0x0800, hlen 6, plen 4; 28 bytes
    if (p.end - o < 28 || b[o + 4] !== 6 || b[o + 5] !== 4 || ((b[o + 2]! << 8) | b[o + 3]!) !== 0x0800) return;
    const op = (b[o + 6]! << 8) | b[o + 7]!;
    const sender = formatIPv4(b, o + 14);
    const target = formatIPv4(b, o + 24);
    if (op === ARP_REQUEST) {
      // probes (sender 0.0.0.0) and gratuitous ARP (asking for oneself) ask nobody
      if (sender === '0.0.0.0' || sender === target) return;
      this.ask(target, sender, p.frame.number, time, false);
    } else if (op === ARP_REPLY) this.answer(sender);
  }

  private nd(p: Packet, time: number): void {
    const b = p.tBuf;
    const o = p.tOff;
    if (p.tCapLen < 24) return;
    const target = formatIPv6(b, o + 8);
    if (p.icmpType === ND_SOLICIT) {
      const asker = p.src();
      // duplicate address detection comes from the unspecified address: it asks nobody
      if (asker === '::') return;
      this.ask(target, asker, p.frame.number, time, true);
    } else this.answer(target);
  }

  private ask(target: string, asker: string, frame: number, time: number, v6: boolean): void {
    let e = this.byAddr.get(target);
    if (!e) {
      if (this.byAddr.size >= MAX_ADDRESSES) return;
      this.byAddr.set(target, (e = { asker, requests: 0, firstFrame: frame, lastFrame: frame, first: time, last: time, answered: false, v6 }));
    }
    e.asker = asker;
    e.requests++;
    e.lastFrame = frame;
    e.last = time;
  }

  private answer(addr: string): void {
    const e = this.byAddr.get(addr);
    if (e) e.answered = true;
    // an answer before any question (the capture started late) is remembered all the same
    else if (this.byAddr.size < MAX_ADDRESSES) this.byAddr.set(addr, { asker: '', requests: 0, firstFrame: 0, lastFrame: 0, first: 0, last: 0, answered: true, v6: addr.includes(':') });
  }

  /** addresses asked for at least twice and never answered */
  unanswered(): UnansweredNeighbor[] {
    const out: UnansweredNeighbor[] = [];
    for (const [address, e] of this.byAddr) {
      if (e.answered || e.requests < 2) continue;
      out.push({ address, asker: e.asker, requests: e.requests, first_frame: e.firstFrame, last_frame: e.lastFrame, duration: Number((e.last - e.first).toFixed(6)), protocol: e.v6 ? 'ndp' : 'arp' });
    }
    return out.sort((a, b) => b.requests - a.requests || a.first_frame - b.first_frame);
  }
}
