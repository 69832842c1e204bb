/**
 * Internet checksums (RFC 1071) over packet bytes, and the verdict vocabulary tshark uses plus `partial`:
 * the pattern checksum offload leaves in a capture taken on the sending host (the field holds the folded
 * pseudo-header sum, not the complemented sum over the segment).
 */
export type ChecksumStatus = 'good' | 'bad' | 'partial' | 'unverified';

/** ones'-complement sum of buf[off, off+len) as 16-bit big-endian words, unfolded */
export function sum16(buf: Uint8Array, off: number, len: number): number {
  let s = 0;
  const end = off + (len & ~1);
  let i = off;
  // eight bytes per step: fewer loop iterations on full-size segments
  const end8 = off + (len & ~7);
  for (; i < end8; i += 8) {
    s += ((buf[i]! << 8) | buf[i + 1]!) + ((buf[i + 2]! << 8) | buf[i + 3]!) + ((buf[i + 4]! << 8) | buf[i + 5]!) + ((buf[i + 6]! << 8) | buf[i + 7]!);
  }
  for (; i < end; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (len & 1) s += buf[off + len - 1]! << 8;
  return s;
}

/** fold a sum to 16 bits (ones' complement carry) */
export function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** pseudo-header sum for TCP/UDP over IPv4 (addresses at `src` and `dst` in buf) */
export function pseudo4(buf: Uint8Array, src: number, dst: number, proto: number, length: number): number {
  return (
    ((buf[src]! << 8) | buf[src + 1]!) +
    ((buf[src + 2]! << 8) | buf[src + 3]!) +
    ((buf[dst]! << 8) | buf[dst + 1]!) +
    ((buf[dst + 2]! << 8) | buf[dst + 3]!) +
    proto +
    length
  );
}

/** pseudo-header sum for upper layers over IPv6 */
export function pseudo6(buf: Uint8Array, src: number, dst: number, next: number, length: number): number {
  return sum16(buf, src, 16) + sum16(buf, dst, 16) + Math.floor(length / 65536) + (length & 0xffff) + next;
}

/**
 * Judge a transport checksum. `pseudo` is the unfolded pseudo-header sum; `segSum` the unfolded sum over the
 * whole segment with its checksum field as captured, or -1 when the segment was not captured whole.
 * Returns the status; `offloadPattern` tells whether the field holds the folded pseudo-header sum.
 */
export function judgeTransport(field: number, pseudo: number, segSum: number): ChecksumStatus {
  if (segSum < 0) return 'unverified';
  const total = fold(pseudo + segSum);
  if (total === 0xffff) return 'good';
  return isOffloadPattern(field, pseudo) ? 'partial' : 'bad';
}

/** the checksum field holds the folded pseudo-header sum (or its other zero form): left for the NIC to finish */
export function isOffloadPattern(field: number, pseudo: number): boolean {
  const p = fold(pseudo);
  return field === p || (p === 0xffff && field === 0) || (p === 0 && field === 0xffff);
}
