/**
 * Hash tables of transport flows keyed by both endpoints, the same entry for both directions (as
 * gopacket's flows). Lookups hash the address bytes in place: no key object or string per packet.
 *
 * FlowKeys holds the keys only, in typed-array columns indexed by a small integer id that stays the same
 * for the flow's life (ids are reused after delete): no object per flow, so a user keeps its per-flow
 * state in its own columns by id (TcpStreamIndex does; about 50 bytes of keys per flow plus the index).
 * FlowTable<T> puts one object per flow on top, holding a value, for users whose state is an object anyway.
 */
import { formatIPv4, formatIPv6 } from '../decode/addr.js';
import type { Packet } from '../decode/view.js';

/** 32-bit words per flow in the address column: A's four then B's four (IPv4 uses the first of each) */
const AW = 8;

export class FlowKeys {
  /** the direction of the last lookup: true when the packet went from A to B */
  forward = true;
  private count = 0;
  /** per id: addresses (AW words), portA << 16 | portB, proto | address length << 8 (0: free), hash */
  private addr = new Int32Array(64 * AW);
  private ports = new Int32Array(64);
  private meta = new Int32Array(64);
  private hashes = new Int32Array(64);
  /** ids that were deleted, to be reused; `top` of them are in use */
  private free = new Int32Array(64);
  private top = 0;
  /** ids handed out so far (the next new one) */
  private used = 0;
  /** open addressing, linear probing: id + 1, 0 empty; at most half full */
  private slots = new Int32Array(128);
  private mask = 127;

  get size(): number {
    return this.count;
  }

  /** one more than the largest id handed out so far: columns kept by id need this length */
  get idLimit(): number {
    return this.used;
  }

  /**
   * the id of a flow by its endpoints, or -1: addresses of `alen` bytes (4 or 16) at `src` and `dst` in
   * `b`, ports `sport` and `dport` (0..65535); sets `forward`
   */
  find(proto: number, b: Uint8Array, alen: number, src: number, dst: number, sport: number, dport: number): number {
    const h = hashFlow(proto, b, alen, src, dst, sport, dport);
    const m = proto | (alen << 8);
    const fwd = (sport << 16) | dport;
    const rev = (dport << 16) | sport;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const id = slots[i]! - 1;
      if (id < 0) return -1;
      if (this.hashes[id] !== h || this.meta[id] !== m) continue;
      const pp = this.ports[id]!;
      const at = id * AW;
      if (pp === fwd && this.sameAddr(at, b, src, alen) && this.sameAddr(at + 4, b, dst, alen)) {
        this.forward = true;
        return id;
      }
      if (pp === rev && this.sameAddr(at, b, dst, alen) && this.sameAddr(at + 4, b, src, alen)) {
        this.forward = false;
        return id;
      }
    }
  }

  /** add a flow by its endpoints, the source as A (call after find() returned -1); returns its id */
  insert(proto: number, b: Uint8Array, alen: number, src: number, dst: number, sport: number, dport: number): number {
    if ((this.count + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    let id: number;
    if (this.top > 0) id = this.free[--this.top]!;
    else {
      id = this.used++;
      if (id >= this.ports.length) this.growColumns(this.ports.length * 2);
    }
    const h = hashFlow(proto, b, alen, src, dst, sport, dport);
    const at = id * AW;
    for (let k = 0; k < 4; k++) {
      this.addr[at + k] = k * 4 < alen ? word(b, src + k * 4) : 0;
      this.addr[at + 4 + k] = k * 4 < alen ? word(b, dst + k * 4) : 0;
    }
    this.ports[id] = (sport << 16) | dport;
    this.meta[id] = proto | (alen << 8);
    this.hashes[id] = h;
    let i = h & this.mask;
    while (this.slots[i] !== 0) i = (i + 1) & this.mask;
    this.slots[i] = id + 1;
    this.count++;
    this.forward = true;
    return id;
  }

  /** remove a flow by id; its id may be handed out again by the next insert */
  delete(id: number): void {
    if (id < 0 || id >= this.used || this.meta[id] === 0) return;
    const slots = this.slots;
    const mask = this.mask;
    let i = this.hashes[id]! & mask;
    while (slots[i] !== id + 1) i = (i + 1) & mask;
    // backward-shift deletion: move later members of the probe run into the hole, so no tombstones
    for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.hashes[slots[j]! - 1]! & mask;
      // the entry at j may move to i when its home is not cyclically within (i, j]
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[i] = slots[j]!;
        i = j;
      }
    }
    slots[i] = 0;
    this.meta[id] = 0;
    if (this.top >= this.free.length) this.free = grow(this.free, this.free.length * 2);
    this.free[this.top++] = id;
    this.count--;
  }

  /** true when the id is a flow in the table */
  has(id: number): boolean {
    return id >= 0 && id < this.used && this.meta[id] !== 0;
  }

  proto(id: number): number {
    return this.meta[id]! & 0xff;
  }
  portA(id: number): number {
    return this.ports[id]! >>> 16;
  }
  portB(id: number): number {
    return this.ports[id]! & 0xffff;
  }
  hash(id: number): number {
    return this.hashes[id]!;
  }
  /** endpoint A's (or B's) address bytes, a new copy */
  address(id: number, b: boolean): Uint8Array {
    const alen = this.meta[id]! >>> 8;
    const out = new Uint8Array(alen);
    const at = id * AW + (b ? 4 : 0);
    for (let k = 0; k < alen; k++) out[k] = (this.addr[at + (k >> 2)]! >>> (24 - 8 * (k & 3))) & 0xff;
    return out;
  }

  /** the ids in the table */
  *ids(): IterableIterator<number> {
    for (let id = 0; id < this.used; id++) if (this.meta[id] !== 0) yield id;
  }

  private sameAddr(at: number, b: Uint8Array, off: number, alen: number): boolean {
    const a = this.addr;
    if (a[at] !== word(b, off)) return false;
    return alen === 4 || (a[at + 1] === word(b, off + 4) && a[at + 2] === word(b, off + 8) && a[at + 3] === word(b, off + 12));
  }

  private growColumns(n: number): void {
    this.addr = grow(this.addr, n * AW);
    this.ports = grow(this.ports, n);
    this.meta = grow(this.meta, n);
    this.hashes = grow(this.hashes, n);
  }

  private rehash(n: number): void {
    const slots = new Int32Array(n);
    const mask = n - 1;
    for (let id = 0; id < this.used; id++) {
      if (this.meta[id] === 0) continue;
      let i = this.hashes[id]! & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = id + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** a copy of `a` in a longer array */
export function grow<A extends Int32Array | Uint32Array | Uint8Array | Float64Array>(a: A, n: number): A {
  const out = new (a.constructor as new (n: number) => A)(n);
  out.set(a);
  return out;
}

/** four bytes big-endian as an int32 */
function word(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/** one flow of a FlowTable; the endpoint getters are valid while it is in the table */
export class FlowEntry<T> {
  constructor(
    private readonly keys: FlowKeys,
    /** its id in the table's FlowKeys */
    readonly id: number,
    public value: T,
  ) {}
  /** endpoint A is the source of the first packet seen */
  get addrA(): Uint8Array {
    return this.keys.address(this.id, false);
  }
  get addrB(): Uint8Array {
    return this.keys.address(this.id, true);
  }
  get portA(): number {
    return this.keys.portA(this.id);
  }
  get portB(): number {
    return this.keys.portB(this.id);
  }
  get proto(): number {
    return this.keys.proto(this.id);
  }
  /** the hash of its endpoints */
  get hash(): number {
    return this.keys.hash(this.id);
  }
}

/** flows with a value each (FlowKeys plus one entry object per flow) */
export class FlowTable<T> {
  private readonly keys = new FlowKeys();
  private byId: (FlowEntry<T> | undefined)[] = [];

  get size(): number {
    return this.keys.size;
  }

  /** the direction of the last lookup: true when the packet went from A to B */
  get forward(): boolean {
    return this.keys.forward;
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
    const id = this.keys.find(proto, b, alen, src, dst, sport, dport);
    return id < 0 ? null : this.byId[id]!;
  }

  /** add a flow by its endpoints, the source as A (call after find() returned null) */
  insert(proto: number, b: Uint8Array, alen: number, src: number, dst: number, sport: number, dport: number, value: T): FlowEntry<T> {
    const id = this.keys.insert(proto, b, alen, src, dst, sport, dport);
    const e = new FlowEntry(this.keys, id, value);
    this.byId[id] = e;
    return e;
  }

  /** remove a flow (it ended, or a new connection takes its ports) */
  delete(e: FlowEntry<T>): void {
    if (this.byId[e.id] !== e) return;
    this.keys.delete(e.id);
    this.byId[e.id] = undefined;
  }

  *entries(): IterableIterator<FlowEntry<T>> {
    for (const id of this.keys.ids()) yield this.byId[id]!;
  }
}

/** direction-independent hash of the flow's endpoints */
export function hashFlow(proto: number, b: Uint8Array, alen: number, src: number, dst: number, sport: number, dport: number): number {
  let hs = 0;
  let hd = 0;
  for (let i = 0; i < alen; i++) {
    hs = Math.imul(hs ^ b[src + i]!, 0x01000193);
    hd = Math.imul(hd ^ b[dst + i]!, 0x01000193);
  }
  hs = Math.imul(hs ^ sport, 0x9e3779b1);
  hd = Math.imul(hd ^ dport, 0x9e3779b1);
  // commutative combination: the same for both directions; mixed so the low bits (the slot) depend on all
  let h = (hs + hd) ^ Math.imul(hs ^ hd, 0x85ebca6b) ^ proto;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) | 0;
}

/**
 * Address text, remembered for the addresses seen last (a direct-mapped cache by a hash of the bytes):
 * every new connection names both ends, and a server's address comes again and again.
 */
export function formatAddr(a: Uint8Array): string {
  const n = a.length;
  if (n !== 4 && n !== 16) return formatIPv6(a, 0);
  const w0 = word(a, 0);
  const w1 = n === 16 ? word(a, 4) : 0;
  const w2 = n === 16 ? word(a, 8) : 0;
  const w3 = n === 16 ? word(a, 12) : 0;
  let h = Math.imul(w0 ^ n, 0x9e3779b1);
  h = Math.imul(h ^ w1, 0x85ebca6b);
  h = Math.imul(h ^ w2, 0x9e3779b1);
  h = Math.imul(h ^ w3, 0x85ebca6b);
  const i = (h ^ (h >>> 16)) & (ADDR_CACHE - 1);
  const k = i * 5;
  const keys = addrKeys;
  if (keys[k] === n && keys[k + 1] === w0 && keys[k + 2] === w1 && keys[k + 3] === w2 && keys[k + 4] === w3) return addrTexts[i]!;
  const text = n === 4 ? formatIPv4(a, 0) : formatIPv6(a, 0);
  keys[k] = n;
  keys[k + 1] = w0;
  keys[k + 2] = w1;
  keys[k + 3] = w2;
  keys[k + 4] = w3;
  addrTexts[i] = text;
  return text;
}

/** formatAddr's cache: per entry the address length (0: empty) and four words, and the text */
const ADDR_CACHE = 256;
const addrKeys = new Int32Array(ADDR_CACHE * 5);
const addrTexts: (string | undefined)[] = new Array<string | undefined>(ADDR_CACHE).fill(undefined);
