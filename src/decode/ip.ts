/**
 * IPv4 (options, header checksum, fragments) and IPv6 (hop-by-hop, routing incl. segment routing,
 * fragment, destination options, AH). Decodes into the Packet and hands the payload to the transport.
 */
import { formatIPv4, formatIPv6 } from './addr.js';
import { fold, sum16 } from './checksum.js';
import type { FragmentStore } from './fragments.js';
import { decodeTransport } from './transport.js';
import type { Packet } from './view.js';

export function decodeIPv4(p: Packet, frags: FragmentStore | null): void {
  const b = p.buf;
  const off = p.netOff;
  const avail = p.end - off;
  if (avail < 20) {
    p.stop('ip', 'truncated', `IPv4 header needs 20 bytes, ${avail} captured`, off);
    return;
  }
  const vihl = b[off]!;
  if (vihl >> 4 !== 4) {
    p.stop('ip', 'malformed', `IP version ${vihl >> 4} where 4 was expected`, off);
    return;
  }
  const hl = (vihl & 15) * 4;
  p.ipVersion = 4;
  p.srcOff = off + 12;
  p.dstOff = off + 16;
  p.ipTos = b[off + 1]!;
  let total = (b[off + 2]! << 8) | b[off + 3]!;
  p.ipId = (b[off + 4]! << 8) | b[off + 5]!;
  const ff = (b[off + 6]! << 8) | b[off + 7]!;
  p.ipFlags = ff >> 13;
  p.ipMoreFragments = (ff & 0x2000) !== 0;
  p.ipFragOffset = (ff & 0x1fff) * 8;
  p.ipTtl = b[off + 8]!;
  p.ipProto = b[off + 9]!;
  p.ipChecksum = (b[off + 10]! << 8) | b[off + 11]!;
  if (hl < 20) {
    p.stop('ip', 'malformed', `IPv4 header length ${hl} is less than 20`, off);
    return;
  }
  if (total === 0) {
    // TSO/GSO on the capturing host: the kernel hands the capture a super-packet with length 0; the
    // frame's length on the wire tells the real one (as tshark assumes)
    total = p.frame.origLen - (off - p.frame.offset);
  }
  p.ipTotalLen = total;
  p.ipHdrLen = hl;
  p.ipOptionsLen = hl - 20;
  if (total < hl) {
    p.stop('ip', 'malformed', `IPv4 total length ${total} is less than the header length ${hl}`, off + 2);
    return;
  }
  if (avail < hl) {
    p.stop('ip', 'truncated', `IPv4 header with options needs ${hl} bytes, ${avail} captured`, off);
    return;
  }
  if (hl > 20) p.dstOff = off + 16 + sourceRouteDstOffset(b, off + 20, hl - 20);
  p.ipChecksumStatus = fold(sum16(b, off, hl)) === 0xffff ? 'good' : 'bad';
  const capPayload = Math.min(avail, total) - hl;
  const wirePayload = total - hl;
  if (p.ipMoreFragments || p.ipFragOffset > 0) {
    if (!frags) {
      p.fragment = true;
      return;
    }
    const key = `4|${formatIPv4(b, p.srcOff)}|${formatIPv4(b, p.dstOff)}|${p.ipId}|${p.ipProto}`;
    const whole = frags.add(key, p.ipFragOffset, b.subarray(off + hl, off + hl + capPayload), wirePayload, p.ipMoreFragments, p.frame.tsSec);
    if (!whole) {
      p.fragment = true;
      return;
    }
    p.reassembled = true;
    p.reassembledFrames = whole.frames;
    const v = new DataView(whole.payload.buffer);
    decodeTransport(p, p.ipProto, whole.payload, v, 0, whole.payload.length, whole.payload.length);
    return;
  }
  decodeTransport(p, p.ipProto, b, p.view, off + hl, capPayload, wirePayload);
}

const IPOPT_EOOL = 0;
const IPOPT_NOP = 1;
const IPOPT_LSR = 131;
const IPOPT_SSR = 137;

/**
 * With a loose or strict source route option whose pointer is still inside the route, the datagram's final
 * destination is the route's last address and the header's destination is only the next hop (RFC 791
 * 3.1). tshark shows that final destination as ip.dst (and the header's as ip.cur_rt), and so does
 * ssmcap. Returns how far past the header's destination field that address is, or 0 when there is none.
 */
function sourceRouteDstOffset(b: Uint8Array, start: number, length: number): number {
  let o = start;
  const end = start + length;
  while (o < end) {
    const opt = b[o]!;
    if (opt === IPOPT_EOOL) return 0;
    if (opt === IPOPT_NOP) {
      o++;
      continue;
    }
    if (o + 1 >= end) return 0;
    const len = b[o + 1]!;
    if (len < 2 || o + len > end) return 0;
    if (opt === IPOPT_LSR || opt === IPOPT_SSR) {
      const ptr = len > 2 ? b[o + 2]! : 0;
      // an exhausted route (pointer past its end): the header's destination is the final one
      if (ptr < 4 || (ptr & 3) !== 0 || ptr > len) return 0;
      return o + len - 4 - (start - 4);
    }
    o += len;
  }
  return 0;
}

const EXT_HOPOPT = 0;
const EXT_ROUTING = 43;
const EXT_FRAGMENT = 44;
const EXT_ESP = 50;
const EXT_AH = 51;
const EXT_NONE = 59;
const EXT_DSTOPTS = 60;
const EXT_MOBILITY = 135;
const EXT_HIP = 139;
const EXT_SHIM6 = 140;

export function decodeIPv6(p: Packet, frags: FragmentStore | null): void {
  const b = p.buf;
  const off = p.netOff;
  const avail = p.end - off;
  if (avail < 40) {
    p.stop('ipv6', 'truncated', `IPv6 header needs 40 bytes, ${avail} captured`, off);
    return;
  }
  const v = b[off]! >> 4;
  if (v !== 6) {
    p.stop('ipv6', 'malformed', `IP version ${v} where 6 was expected`, off);
    return;
  }
  p.ipVersion = 6;
  p.ipTos = ((b[off]! & 15) << 4) | (b[off + 1]! >> 4);
  p.ipv6FlowLabel = ((b[off + 1]! & 15) << 16) | (b[off + 2]! << 8) | b[off + 3]!;
  let plen = (b[off + 4]! << 8) | b[off + 5]!;
  if (plen === 0) plen = p.frame.origLen - (off - p.frame.offset) - 40; // jumbogram or GSO super-packet
  let next = b[off + 6]!;
  p.ipv6Nxt = next;
  p.ipTtl = b[off + 7]!;
  p.srcOff = off + 8;
  p.dstOff = off + 24;
  p.ipTotalLen = 40 + plen;
  const capEnd = Math.min(p.end, off + 40 + plen);
  let pos = off + 40;
  let fragOff = -1;
  let fragMore = false;
  let fragId = 0;
  for (;;) {
    if (next === EXT_HOPOPT || next === EXT_ROUTING || next === EXT_DSTOPTS || next === EXT_MOBILITY || next === EXT_HIP || next === EXT_SHIM6) {
      if (capEnd - pos < 8) {
        p.stop('ipv6', 'truncated', `IPv6 extension header ${next} cut short`, pos);
        p.ipProto = next;
        return;
      }
      const len = (b[pos + 1]! + 1) * 8;
      next = b[pos]!;
      pos += len;
      p.ipv6ExtCount++;
    } else if (next === EXT_AH) {
      if (capEnd - pos < 8) {
        p.stop('ipv6', 'truncated', 'IPv6 authentication header cut short', pos);
        p.ipProto = next;
        return;
      }
      const len = (b[pos + 1]! + 2) * 4;
      next = b[pos]!;
      pos += len;
      p.ipv6ExtCount++;
    } else if (next === EXT_FRAGMENT) {
      if (capEnd - pos < 8) {
        p.stop('ipv6', 'truncated', 'IPv6 fragment header cut short', pos);
        p.ipProto = next;
        return;
      }
      const fo = (b[pos + 2]! << 8) | b[pos + 3]!;
      fragOff = fo & 0xfff8;
      fragMore = (fo & 1) !== 0;
      fragId = p.view.getUint32(pos + 4, false);
      next = b[pos]!;
      pos += 8;
      p.ipv6ExtCount++;
    } else break;
  }
  p.ipProto = next;
  p.ipHdrLen = pos - off;
  if (pos > capEnd) {
    p.stop('ipv6', 'truncated', 'IPv6 extension headers run past the captured bytes', capEnd);
    return;
  }
  const capPayload = capEnd - pos;
  const wirePayload = off + 40 + plen - pos;
  if (next === EXT_ESP || next === EXT_NONE) return;
  if (fragOff >= 0 && (fragOff > 0 || fragMore)) {
    p.ipFragOffset = fragOff;
    p.ipMoreFragments = fragMore;
    p.ipId = fragId;
    if (!frags) {
      p.fragment = true;
      return;
    }
    const key = `6|${formatIPv6(b, p.srcOff)}|${formatIPv6(b, p.dstOff)}|${fragId}`;
    const whole = frags.add(key, fragOff, b.subarray(pos, pos + capPayload), wirePayload, fragMore, p.frame.tsSec);
    if (!whole) {
      p.fragment = true;
      return;
    }
    p.reassembled = true;
    p.reassembledFrames = whole.frames;
    decodeTransport(p, next, whole.payload, new DataView(whole.payload.buffer), 0, whole.payload.length, whole.payload.length);
    return;
  }
  decodeTransport(p, next, b, p.view, pos, capPayload, wirePayload);
}
