/**
 * IP fragment reassembly within a memory bound. A datagram's parts are kept until it is complete (then
 * the completing frame carries the transport, as tshark shows it), until it is evicted by the bounds, or
 * until `timeoutSec` of capture time pass.
 */
import { copyBytes } from '../bytes.js';

export interface FragmentLimits {
  /** datagrams pending at once */
  maxDatagrams: number;
  /** bytes held across all pending datagrams */
  maxBytes: number;
  /** capture seconds after which a pending datagram is dropped */
  timeoutSec: number;
}

export const DEFAULT_FRAGMENT_LIMITS: FragmentLimits = { maxDatagrams: 1024, maxBytes: 8 * 1024 * 1024, timeoutSec: 60 };

interface Part {
  off: number;
  data: Uint8Array;
}

interface Pending {
  parts: Part[];
  /** total payload length once the last fragment (MF=0) was seen, else -1 */
  total: number;
  bytes: number;
  firstSec: number;
  frames: number;
  /** a part was cut by the snaplen: the datagram can never be complete */
  incomplete: boolean;
}

export class FragmentStore {
  private readonly pending = new Map<string, Pending>();
  private bytes = 0;
  /** datagrams given up (bounds, timeout or snaplen) */
  dropped = 0;
  reassembled = 0;

  constructor(private readonly limits: FragmentLimits = DEFAULT_FRAGMENT_LIMITS) {}

  get size(): number {
    return this.pending.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  /**
   * Add a fragment. `data` is a view of the captured payload bytes (copied here), `wireLen` its length on
   * the wire. Returns the reassembled payload when this fragment completes the datagram, else null.
   */
  add(key: string, off: number, data: Uint8Array, wireLen: number, more: boolean, sec: number): { payload: Uint8Array; frames: number } | null {
    this.expire(sec);
    let d = this.pending.get(key);
    if (!d) {
      if (this.pending.size >= this.limits.maxDatagrams) this.evictOldest();
      d = { parts: [], total: -1, bytes: 0, firstSec: sec, frames: 0, incomplete: false };
      this.pending.set(key, d);
    }
    d.frames++;
    if (data.length < wireLen) d.incomplete = true;
    if (!more) d.total = off + wireLen;
    if (!d.incomplete) {
      while (this.bytes + data.length > this.limits.maxBytes && this.pending.size > 1) this.evictOldest(key);
      d.parts.push({ off, data: copyBytes(data) });
      d.bytes += data.length;
      this.bytes += data.length;
    }
    if (d.total < 0 || d.incomplete) return null;
    // complete when the parts cover [0, total) without a hole
    d.parts.sort((a, b) => a.off - b.off);
    let covered = 0;
    for (const p of d.parts) {
      if (p.off > covered) return null;
      covered = Math.max(covered, p.off + p.data.length);
    }
    if (covered < d.total) return null;
    const payload = new Uint8Array(d.total);
    for (const p of d.parts) payload.set(p.data.subarray(0, Math.max(0, Math.min(p.data.length, d.total - p.off))), p.off);
    this.remove(key, d);
    this.reassembled++;
    return { payload, frames: d.frames };
  }

  private remove(key: string, d: Pending): void {
    this.bytes -= d.bytes;
    this.pending.delete(key);
  }

  private evictOldest(keep?: string): void {
    for (const [k, d] of this.pending) {
      if (k === keep) continue;
      this.remove(k, d);
      this.dropped++;
      return;
    }
  }

  private expire(sec: number): void {
    for (const [k, d] of this.pending) {
      if (sec - d.firstSec <= this.limits.timeoutSec) break;
      this.remove(k, d);
      this.dropped++;
    }
  }
}
