/**
 * Checksum attribution: offload noise versus corruption. Counts TCP checksum verdicts per sender and
 * direction, then says what they mean: a sender whose packets all carry the offload pattern is the host
 * the capture was taken on (its NIC fills checksums after the capture point): not an error. Checksums
 * that are wrong without that pattern are corruption (or a middlebox rewriting without fixing them).
 */
import { formatIPv6 } from '../decode/addr.js';
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
  /**
   * Wrong checksums that all share one "field minus TCP length" value: pseudo-header sums over other
   * addresses (NAT on the capturing host, or addresses rewritten before the capture point), -1 none,
   * -2 when they do not share one.
   */
  badPseudoBase: number;
  badPseudoCount: number;
  /** directions folded into this line when the capture had too many to keep apart (0: one direction) */
  folded?: number;
}

export type ChecksumFinding = 'offload' | 'corrupt' | 'ok' | 'unverified';

/** one line of the report: a direction's counts (snake_case, as every other report field) and what they mean */
export interface ChecksumSummaryLine {
  src: string;
  dst: string;
  packets: number;
  good: number;
  bad: number;
  partial: number;
  unverified: number;
  unverified_offload: number;
  /** directions folded into this line (absent: one direction) */
  folded?: number;
  finding: ChecksumFinding;
  text: string;
}

/** a ledger's counts as plain data (they cross threads), to be merged with other parts' */
export interface LedgerExport {
  dirs: { counts: ChecksumCounts; first: number }[];
  folded: [ChecksumFinding, ChecksumCounts][];
}

export const EMPTY_LEDGER: LedgerExport = { dirs: [], folded: [] };

/**
 * One direction: its addresses and counts, filed by a hash of the addresses. Its address text is written
 * only when a report line asks for it: a capture of very many hosts files a direction per connection, and
 * most are folded away unread.
 */
class Slot implements ChecksumCounts {
  packets = 0;
  good = 0;
  bad = 0;
  partial = 0;
  unverified = 0;
  unverifiedOffload = 0;
  badPseudoBase = -1;
  badPseudoCount = 0;
  /** folded since it was handed out: the caller's cached reference is stale */
  stale = false;
  /** the next slot filed under the same hash */
  next: Slot | null = null;
  /** the frame that filed it (merged parts list directions in that order) */
  first = 0;
  private srcText: string | null = null;
  private dstText: string | null = null;

  constructor(
    /** IPv4 addresses as numbers (no typed array per direction), -1 for IPv6 */
    readonly src4: number,
    readonly dst4: number,
    /** IPv6: the source then the destination address bytes (null for IPv4) */
    readonly addr6: Uint8Array | null,
    /** the hash of its addresses (its bucket: the low bits) */
    readonly hash: number,
  ) {}

  /** a direction read back from another part's ledger, its address text given */
  static from(c: ChecksumCounts, first: number): Slot {
    const s = new Slot(-1, -1, null, 0);
    s.srcText = c.src;
    s.dstText = c.dst;
    s.first = first;
    addCounts(s, c);
    return s;
  }

  get src(): string {
    return (this.srcText ??= addrText(this, false));
  }

  get dst(): string {
    return (this.dstText ??= addrText(this, true));
  }
}

function addrText(s: Slot, dst: boolean): string {
  if (s.addr6) return formatIPv6(s.addr6, dst ? 16 : 0);
  const a = dst ? s.dst4 : s.src4;
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

export class ChecksumLedger {
  /** by a hash of the source and destination address bytes (no string per packet): slots of one bucket are chained */
  private readonly buckets: (Slot | null)[] = new Array<Slot | null>(BUCKETS).fill(null);
  private byDir: Slot[] = [];
  /** counts of directions folded away (see fold), by finding */
  private readonly folded = new Map<ChecksumFinding, ChecksumCounts>();

  /**
   * count a decoded TCP packet; `known` is the counts this packet's addresses were filed under before
   * (the caller keeps them per connection and direction, to skip the lookup), and the counts used are returned
   */
  add(p: Packet, known: ChecksumCounts | null = null): ChecksumCounts | null {
    if (!p.isTcp || p.tcpHdrLen < 20) return known;
    const c = known !== null && !(known as Slot).stale ? known : this.countsOf(p);
    c.packets++;
    switch (p.tcpChecksumStatus) {
      case 'good':
        c.good++;
        break;
      case 'bad': {
        c.bad++;
        // an offload field is the pseudo-header sum: addresses + protocol + TCP length. Over one
        // direction the addresses are fixed, so field - length is the same on every such packet
        const base = onesSub(p.tcpChecksum, p.tLen);
        if (c.badPseudoBase === -1) c.badPseudoBase = base;
        else if (c.badPseudoBase !== base) c.badPseudoBase = -2;
        if (c.badPseudoBase >= 0) c.badPseudoCount++;
        break;
      }
      case 'partial':
        c.partial++;
        break;
      default:
        c.unverified++;
        if (p.tcpChecksumOffload) c.unverifiedOffload++;
    }
    return c;
  }

  private countsOf(p: Packet): ChecksumCounts {
    const b = p.buf;
    const v4 = p.ipVersion === 4;
    const n = v4 ? 4 : 16;
    const src4 = v4 ? u32(b, p.srcOff) : -1;
    const dst4 = v4 ? u32(b, p.dstOff) : -1;
    let h = n;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ b[p.srcOff + i]!, 0x01000193);
    for (let i = 0; i < n; i++) h = Math.imul(h ^ (b[p.dstOff + i]! + 0x100), 0x01000193);
    // a small integer key (Smi): a full int32 would be a heap number per lookup
    h = (h ^ (h >>> 15)) & 0x3fffffff;
    for (let s: Slot | null = this.buckets[h & (BUCKETS - 1)]!; s !== null; s = s.next) {
      if (v4 ? s.src4 === src4 && s.dst4 === dst4 : s.addr6 !== null && same(s.addr6, 0, b, p.srcOff) && same(s.addr6, 16, b, p.dstOff)) return s;
    }
    // fold before filing the new direction, so the new one (with no packets yet) is never folded at once
    if (this.byDir.length >= MAX_DIRECTIONS) this.fold();
    let addr6: Uint8Array | null = null;
    if (!v4) {
      addr6 = new Uint8Array(32);
      addr6.set(b.subarray(p.srcOff, p.srcOff + 16), 0);
      addr6.set(b.subarray(p.dstOff, p.dstOff + 16), 16);
    }
    // filed at the end of its chain, as the lists were
    const slot = new Slot(src4, dst4, addr6, h);
    slot.first = p.frame.number;
    const head = this.buckets[h & (BUCKETS - 1)]!;
    if (head === null) this.buckets[h & (BUCKETS - 1)] = slot;
    else {
      let t = head;
      while (t.next !== null) t = t.next;
      t.next = slot;
    }
    this.byDir.push(slot);
    return slot;
  }

  /**
   * Memory stays flat on captures of very many hosts: past MAX_DIRECTIONS the quieter half of the
   * directions is folded into one line per finding (a direction seen again starts afresh).
   */
  private fold(): void {
    const slots = this.byDir.sort((a, b) => b.packets - a.packets);
    const keep = MAX_DIRECTIONS >> 1;
    for (let i = keep; i < slots.length; i++) {
      const slot = slots[i]!;
      const c = slot;
      const finding = classify(c);
      let f = this.folded.get(finding);
      if (!f) this.folded.set(finding, (f = { src: '', dst: '', packets: 0, good: 0, bad: 0, partial: 0, unverified: 0, unverifiedOffload: 0, badPseudoBase: -1, badPseudoCount: 0, folded: 0 }));
      addCounts(f, c);
      f.folded! += 1;
      c.stale = true;
      // unchain it (a merged ledger's slots are in no chain)
      const head = this.buckets[slot.hash & (BUCKETS - 1)]!;
      if (head === null) continue;
      if (head === slot) this.buckets[slot.hash & (BUCKETS - 1)] = slot.next;
      else {
        let t = head;
        while (t.next !== slot) t = t.next!;
        t.next = slot.next;
      }
    }
    slots.length = keep;
  }

  export(): LedgerExport {
    return { dirs: this.byDir.map((s) => ({ counts: plainCounts(s), first: s.first })), folded: [...this.folded] };
  }

  /**
   * The ledger of a whole capture from its parts' (shards'): a direction's counts summed over the parts,
   * directions in the order a serial run files them (their first frame). A serial run folds its quieter
   * half whenever it passes MAX_DIRECTIONS; merged parts fold once at the end, so on captures of that many
   * hosts the folded lines may differ from a serial run's.
   */
  static merged(parts: LedgerExport[]): ChecksumLedger {
    const l = new ChecksumLedger();
    const byKey = new Map<string, { counts: ChecksumCounts; first: number }>();
    for (const part of parts) {
      for (const d of part.dirs) {
        const key = `${d.counts.src}>${d.counts.dst}`;
        const m = byKey.get(key);
        if (!m) {
          byKey.set(key, { counts: plainCounts(d.counts), first: d.first });
          continue;
        }
        addCounts(m.counts, d.counts);
        m.first = Math.min(m.first, d.first);
      }
      for (const [finding, c] of part.folded) {
        const f = l.folded.get(finding);
        if (!f) l.folded.set(finding, { ...c });
        else addCounts(f, c);
      }
    }
    const dirs = [...byKey.values()].sort((a, b) => a.first - b.first);
    l.byDir = dirs.map((d) => Slot.from(d.counts, d.first));
    if (l.byDir.length > MAX_DIRECTIONS) l.fold();
    return l;
  }

  counts(): ChecksumCounts[] {
    return [...this.byDir, ...this.folded.values()];
  }

  /** one line per direction, the senders with offload first */
  summarize(): ChecksumSummaryLine[] {
    const rank: Record<ChecksumFinding, number> = { corrupt: 0, offload: 1, unverified: 2, ok: 3 };
    const all = this.byDir.map((s) => ({ c: s as ChecksumCounts, finding: classify(s) }));
    all.sort((a, b) => rank[a.finding] - rank[b.finding] || b.c.packets - a.c.packets);
    // a capture of many hosts has as many directions: the report keeps the busiest of each finding
    const kept: { c: ChecksumCounts; finding: ChecksumFinding }[] = [];
    const seen = new Map<ChecksumFinding, number>();
    for (const x of all) {
      const n = (seen.get(x.finding) ?? 0) + 1;
      seen.set(x.finding, n);
      if (all.length <= MAX_LINES_PER_FINDING * 4 || n <= MAX_LINES_PER_FINDING) kept.push(x);
    }
    for (const [finding, c] of this.folded) kept.push({ c, finding });
    kept.sort((a, b) => rank[a.finding] - rank[b.finding] || (a.c.folded ?? 0) - (b.c.folded ?? 0) || b.c.packets - a.c.packets);
    return kept.map(({ c, finding }) => ({
      src: c.src,
      dst: c.dst,
      packets: c.packets,
      good: c.good,
      bad: c.bad,
      partial: c.partial,
      unverified: c.unverified,
      unverified_offload: c.unverifiedOffload,
      ...(c.folded ? { folded: c.folded } : {}),
      finding,
      text: describe(c, finding),
    }));
  }
}

/** a direction's counts as a plain object (a slot's address text written out) */
function plainCounts(c: ChecksumCounts): ChecksumCounts {
  return { src: c.src, dst: c.dst, packets: c.packets, good: c.good, bad: c.bad, partial: c.partial, unverified: c.unverified, unverifiedOffload: c.unverifiedOffload, badPseudoBase: c.badPseudoBase, badPseudoCount: c.badPseudoCount };
}

/** add one part's counts of a direction (or of folded directions) to another's */
function addCounts(into: ChecksumCounts, c: ChecksumCounts): void {
  into.packets += c.packets;
  into.good += c.good;
  into.bad += c.bad;
  into.partial += c.partial;
  into.unverified += c.unverified;
  into.unverifiedOffload += c.unverifiedOffload;
  into.badPseudoCount += c.badPseudoCount;
  // one shared "field minus length" value in every part, or none where a part had no wrong field
  into.badPseudoBase = into.badPseudoBase === -1 ? c.badPseudoBase : c.badPseudoBase === -1 || c.badPseudoBase === into.badPseudoBase ? into.badPseudoBase : -2;
  if (c.folded !== undefined || into.folded !== undefined) into.folded = (into.folded ?? 0) + (c.folded ?? 0);
}

/** what one direction's counts say */
function classify(c: ChecksumCounts): ChecksumFinding {
  const offload = c.partial + c.unverifiedOffload;
  // every wrong field differs from the others exactly by the TCP length: pseudo-header sums left for the
  // NIC, computed over addresses other than the ones captured (NAT on the sending host)
  if (c.bad >= 2 && c.badPseudoBase >= 0 && c.badPseudoCount === c.bad) return 'offload';
  if (c.bad > 0) return 'corrupt';
  if (offload > 0 && offload === c.packets - c.good) return 'offload';
  if (c.unverified === c.packets) return 'unverified';
  return 'ok';
}

function describe(c: ChecksumCounts, finding: ChecksumFinding): string {
  const who = c.folded ? `${c.folded} other directions (too many to list one by one)` : `sent by ${c.src} to ${c.dst}`;
  const offload = c.partial + c.unverifiedOffload;
  switch (finding) {
    case 'offload':
      if (c.bad > 0) return `${c.bad} of ${c.packets} packets ${who} carry checksum fields that differ only by the TCP length: pseudo-header sums left for the NIC (capture taken on that host; the sum covers other addresses, so it translates them, e.g. NAT): not an error`;
      return `${offload === c.packets ? 'all' : `${offload} of`} ${c.packets} packets ${who} carry offload checksums (capture taken on that host, the NIC fills them in after the capture point): not an error`;
    case 'corrupt':
      return `${c.bad} of ${c.packets} packets ${who} have wrong TCP checksums without the offload pattern: corrupted on the way, or rewritten by a middlebox that did not fix them`;
    case 'unverified':
      return `${c.packets} packets ${who} were cut by the snaplen: checksums cannot be verified`;
    default:
      return `${c.good} of ${c.packets} packets ${who} have correct TCP checksums`;
  }
}

/** directions kept apart before the quieter half is folded (memory stays flat) */
const MAX_DIRECTIONS = 8192;
/** hash buckets of the directions (chained; twice as many as directions kept, so chains stay short) */
const BUCKETS = 2 * MAX_DIRECTIONS;

/** directions reported per finding (the busiest first) when a capture has very many */
const MAX_LINES_PER_FINDING = 50;

/** ones'-complement a - b over 16 bits */
function onesSub(a: number, b: number): number {
  let d = a + (0xffff - (b & 0xffff));
  while (d > 0xffff) d = (d & 0xffff) + (d >>> 16);
  return d === 0xffff ? 0 : d;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** the 16 bytes of `a` at `aOff` equal those of `b` at `off` */
function same(a: Uint8Array, aOff: number, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (a[aOff + i] !== b[off + i]) return false;
  return true;
}
