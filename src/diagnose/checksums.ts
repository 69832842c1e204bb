/**
 * Checksum attribution: offload noise versus corruption. Counts TCP checksum verdicts per sender and
 * direction, then says what they mean: a sender whose packets all carry the offload pattern is the host
 * the capture was taken on (its NIC fills checksums after the capture point): not an error. Checksums
 * that are wrong without that pattern are corruption (or a middlebox rewriting without fixing them).
 */
import type { Packet } from '../decode/view.js';

export interface ChecksumCounts {
  src: string;
  dst: string;
  packets: number;
  good: number;
  bad: number;
  partial: number;
  unverified: number;
  /** unverified (snaplen-cut) packets whose field still shows the offload pattern */
  unverifiedOffload: number;
}

export type ChecksumFinding = 'offload' | 'corrupt' | 'ok' | 'unverified';

export interface ChecksumSummaryLine extends ChecksumCounts {
  finding: ChecksumFinding;
  text: string;
}

export class ChecksumLedger {
  private readonly byDir = new Map<string, ChecksumCounts>();

  /** count a decoded TCP packet */
  add(p: Packet): void {
    if (!p.isTcp || p.tcpHdrLen < 20) return;
    const key = `${p.src()}>${p.dst()}`;
    let c = this.byDir.get(key);
    if (!c) {
      c = { src: p.src(), dst: p.dst(), packets: 0, good: 0, bad: 0, partial: 0, unverified: 0, unverifiedOffload: 0 };
      this.byDir.set(key, c);
    }
    c.packets++;
    switch (p.tcpChecksumStatus) {
      case 'good':
        c.good++;
        break;
      case 'bad':
        c.bad++;
        break;
      case 'partial':
        c.partial++;
        break;
      default:
        c.unverified++;
        if (p.tcpChecksumOffload) c.unverifiedOffload++;
    }
  }

  counts(): ChecksumCounts[] {
    return [...this.byDir.values()];
  }

  /** one line per direction, the senders with offload first */
  summarize(): ChecksumSummaryLine[] {
    const lines: ChecksumSummaryLine[] = [];
    for (const c of this.byDir.values()) {
      const offload = c.partial + c.unverifiedOffload;
      let finding: ChecksumFinding;
      let text: string;
      if (c.bad > 0) {
        finding = 'corrupt';
        text = `${c.bad} of ${c.packets} packets sent by ${c.src} to ${c.dst} have wrong TCP checksums without the offload pattern: corrupted on the way, or rewritten by a middlebox that did not fix them`;
      } else if (offload > 0 && offload === c.packets - c.good) {
        finding = 'offload';
        const all = offload === c.packets ? 'all' : `${offload} of`;
        text = `${all} ${c.packets} packets sent by ${c.src} to ${c.dst} carry offload checksums (capture taken on that host, the NIC fills them in after the capture point): not an error`;
      } else if (c.unverified === c.packets) {
        finding = 'unverified';
        text = `${c.packets} packets sent by ${c.src} to ${c.dst} were cut by the snaplen: checksums cannot be verified`;
      } else {
        finding = 'ok';
        text = `${c.good} of ${c.packets} packets sent by ${c.src} to ${c.dst} have correct TCP checksums`;
      }
      lines.push({ ...c, finding, text });
    }
    const rank: Record<ChecksumFinding, number> = { corrupt: 0, offload: 1, unverified: 2, ok: 3 };
    return lines.sort((a, b) => rank[a.finding] - rank[b.finding] || b.packets - a.packets);
  }
}
