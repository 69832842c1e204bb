/**
 * Transport layer: TCP (all options), UDP, ICMP and ICMPv6 (errors with their quoted packet), with
 * checksums judged against the pseudo-header of the IP layer already decoded.
 */
import { isOffloadPattern, judgeTransport, pseudo4, pseudo6, sum16 } from './checksum.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type Packet, type QuotedPacket } from './view.js';

export function decodeTransport(p: Packet, proto: number, buf: Uint8Array, view: DataView, off: number, capLen: number, wireLen: number): void {
  p.tBuf = buf;
  p.tView = view;
  p.tOff = off;
  p.tCapLen = capLen;
  p.tLen = wireLen;
  switch (proto) {
    case PROTO_TCP:
      decodeTcp(p, buf, off, capLen, wireLen);
      return;
    case PROTO_UDP:
      decodeUdp(p, buf, off, capLen, wireLen);
      return;
    case PROTO_ICMP:
      if (p.ipVersion === 4) decodeIcmp(p, buf, off, capLen, wireLen, false);
      return;
    case PROTO_ICMPV6:
      if (p.ipVersion === 6) decodeIcmp(p, buf, off, capLen, wireLen, true);
      return;
    default:
      return;
  }
}

function pseudoSum(p: Packet, proto: number, length: number): number {
  return p.ipVersion === 4 ? pseudo4(p.buf, p.srcOff, p.dstOff, proto, length) : pseudo6(p.buf, p.srcOff, p.dstOff, proto, length);
}

function decodeTcp(p: Packet, b: Uint8Array, off: number, cap: number, wire: number): void {
  p.transport = PROTO_TCP;
  if (cap < 4) {
    p.stop('tcp', 'truncated', `TCP header needs 20 bytes, ${cap} captured`, off);
    return;
  }
  p.srcPort = (b[off]! << 8) | b[off + 1]!;
  p.dstPort = (b[off + 2]! << 8) | b[off + 3]!;
  if (cap < 20) {
    p.stop('tcp', 'truncated', `TCP header needs 20 bytes, ${cap} captured`, off);
    return;
  }
  const view = p.tView;
  p.tcpSeq = view.getUint32(off + 4, false);
  p.tcpAck = view.getUint32(off + 8, false);
  const hl = (b[off + 12]! >> 4) * 4;
  p.tcpFlags = ((b[off + 12]! & 1) << 8) | b[off + 13]!;
  p.tcpWindow = (b[off + 14]! << 8) | b[off + 15]!;
  p.tcpChecksum = (b[off + 16]! << 8) | b[off + 17]!;
  p.tcpUrgent = (b[off + 18]! << 8) | b[off + 19]!;
  p.tcpHdrLen = hl;
  if (hl < 20) {
    p.stop('tcp', 'malformed', `TCP header length ${hl} is less than 20`, off + 12);
    return;
  }
  if (hl > wire) {
    // a short segment: no payload length, but its checksum can still be judged over the bytes it has
    judgeTcpChecksum(p, b, off, cap, wire);
    p.stop('tcp', 'malformed', `TCP header length ${hl} exceeds the segment length ${wire}`, off + 12);
    return;
  }
  p.tcpLen = wire - hl;
  p.tcpPayloadOff = off + hl;
  p.tcpPayloadCapLen = Math.max(0, cap - hl);
  const optCap = Math.min(hl, cap) - 20;
  p.tcpOptOff = off + 20;
  p.tcpOptLen = hl - 20;
  if (optCap > 0) parseTcpOptions(p, b, off + 20, optCap);
  if (cap < hl) p.stop('tcp', 'truncated', `TCP options cut short: header of ${hl} bytes, ${cap} captured`, off + cap);
  judgeTcpChecksum(p, b, off, cap, wire);
}

function judgeTcpChecksum(p: Packet, b: Uint8Array, off: number, cap: number, wire: number): void {
  // a reader that will not look at this segment's checksum (another shard's flow) is spared the sum
  if (p.tcpChecksumWanted !== null && !p.tcpChecksumWanted(p)) return;
  const pseudo = pseudoSum(p, PROTO_TCP, wire);
  const whole = cap >= wire;
  p.tcpChecksumStatus = judgeTransport(p.tcpChecksum, pseudo, whole ? sum16(b, off, wire) : -1);
  p.tcpChecksumOffload = p.tcpChecksumStatus === 'partial' || (!whole && isOffloadPattern(p.tcpChecksum, pseudo));
}

/** NOP, NOP, timestamps (kind 8, length 10): the options of nearly every segment after the handshake */
const NOP_NOP_TS = 0x0101080a;

function parseTcpOptions(p: Packet, b: Uint8Array, start: number, len: number): void {
  if (len === 12 && ((b[start]! << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!) === NOP_NOP_TS) {
    const view = p.tView;
    p.tcpTsVal = view.getUint32(start + 4, false);
    p.tcpTsEcr = view.getUint32(start + 8, false);
    return;
  }
  const end = start + len;
  let o = start;
  while (o < end) {
    const kind = b[o]!;
    if (kind === 0) break; // end of option list
    if (kind === 1) {
      o++;
      continue;
    }
    if (o + 1 >= end) {
      p.tcpOptBad = true;
      break;
    }
    const l = b[o + 1]!;
    if (l < 2 || o + l > end) {
      p.tcpOptBad = true;
      break;
    }
    switch (kind) {
      case 2:
        if (l === 4) p.tcpMss = (b[o + 2]! << 8) | b[o + 3]!;
        else p.tcpOptBad = true;
        break;
      case 3:
        if (l === 3) p.tcpWscale = b[o + 2]!;
        else p.tcpOptBad = true;
        break;
      case 4:
        p.tcpSackPerm = true;
        break;
      case 5: {
        const n = Math.min(4, (l - 2) >> 3);
        for (let i = 0; i < n; i++) {
          p.tcpSack[2 * i] = p.tView.getUint32(o + 2 + 8 * i, false);
          p.tcpSack[2 * i + 1] = p.tView.getUint32(o + 6 + 8 * i, false);
        }
        p.tcpSackCount = n;
        break;
      }
      case 8:
        if (l === 10) {
          p.tcpTsVal = p.tView.getUint32(o + 2, false);
          p.tcpTsEcr = p.tView.getUint32(o + 6, false);
        } else p.tcpOptBad = true;
        break;
      case 34:
        p.tcpTfoLen = l - 2;
        break;
      case 30:
        p.tcpMptcp = true;
        break;
      default:
        p.tcpUnknownOpts++;
        break;
    }
    o += l;
  }
}

function decodeUdp(p: Packet, b: Uint8Array, off: number, cap: number, wire: number): void {
  p.transport = PROTO_UDP;
  if (cap < 8) {
    if (cap >= 4) {
      p.srcPort = (b[off]! << 8) | b[off + 1]!;
      p.dstPort = (b[off + 2]! << 8) | b[off + 3]!;
    }
    p.stop('udp', 'truncated', `UDP header needs 8 bytes, ${cap} captured`, off);
    return;
  }
  p.srcPort = (b[off]! << 8) | b[off + 1]!;
  p.dstPort = (b[off + 2]! << 8) | b[off + 3]!;
  p.udpLen = (b[off + 4]! << 8) | b[off + 5]!;
  p.udpChecksum = (b[off + 6]! << 8) | b[off + 7]!;
  if (p.udpChecksum === 0 && p.ipVersion === 4) {
    p.udpChecksumStatus = 'unverified'; // no checksum sent
    return;
  }
  const pseudo = pseudoSum(p, PROTO_UDP, wire);
  p.udpChecksumStatus = judgeTransport(p.udpChecksum, pseudo, cap >= wire ? sum16(b, off, wire) : -1);
}

function isIcmpError(type: number, v6: boolean): boolean {
  return v6 ? type >= 1 && type <= 4 : type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

function decodeIcmp(p: Packet, b: Uint8Array, off: number, cap: number, wire: number, v6: boolean): void {
  p.transport = v6 ? PROTO_ICMPV6 : PROTO_ICMP;
  const layer = v6 ? 'icmpv6' : 'icmp';
  if (cap < 4) {
    p.stop(layer, 'truncated', `ICMP header needs 4 bytes, ${cap} captured`, off);
    return;
  }
  p.icmpType = b[off]!;
  p.icmpCode = b[off + 1]!;
  p.icmpChecksum = (b[off + 2]! << 8) | b[off + 3]!;
  void wire;
  if (isIcmpError(p.icmpType, v6) && cap > 8) decodeQuoted(p.quoted, b, p.tView, off + 8, cap - 8);
}

/** decode the IP header and the first bytes of the transport header an ICMP error quotes (lax: keep what is there) */
export function decodeQuoted(q: QuotedPacket, b: Uint8Array, view: DataView, off: number, cap: number): void {
  q.present = true;
  const v = b[off]! >> 4;
  let t: number;
  let tcap: number;
  if (v === 4 && cap >= 20) {
    const hl = (b[off]! & 15) * 4;
    q.ipVersion = 4;
    q.ipTotalLen = (b[off + 2]! << 8) | b[off + 3]!;
    q.ipId = (b[off + 4]! << 8) | b[off + 5]!;
    q.ttl = b[off + 8]!;
    q.proto = b[off + 9]!;
    q.srcOff = off + 12;
    q.dstOff = off + 16;
    if (hl < 20) return;
    t = off + hl;
    tcap = cap - hl;
  } else if (v === 6 && cap >= 40) {
    q.ipVersion = 6;
    q.ipTotalLen = 40 + ((b[off + 4]! << 8) | b[off + 5]!);
    q.proto = b[off + 6]!;
    q.ttl = b[off + 7]!;
    q.srcOff = off + 8;
    q.dstOff = off + 24;
    t = off + 40;
    tcap = cap - 40;
    // skip the common extension headers to reach the transport
    let next = q.proto;
    while ((next === 0 || next === 43 || next === 60 || next === 44) && tcap >= 8) {
      const len = next === 44 ? 8 : (b[t + 1]! + 1) * 8;
      next = b[t]!;
      t += len;
      tcap -= len;
    }
    q.proto = next;
  } else return;
  if ((q.proto === PROTO_TCP || q.proto === PROTO_UDP) && tcap >= 4) {
    q.srcPort = (b[t]! << 8) | b[t + 1]!;
    q.dstPort = (b[t + 2]! << 8) | b[t + 3]!;
    if (q.proto === PROTO_TCP && tcap >= 8) q.seq = view.getUint32(t + 4, false);
    if (q.proto === PROTO_TCP && tcap >= 12) q.ack = view.getUint32(t + 8, false);
    if (q.proto === PROTO_TCP && tcap >= 14) q.tcpFlags = ((b[t + 12]! & 1) << 8) | b[t + 13]!;
    if (q.proto === PROTO_TCP && tcap >= 18) {
      q.tcpChecksum = (b[t + 16]! << 8) | b[t + 17]!;
      // an error quoting the whole segment (a SYN usually fits) lets its checksum be judged like any other;
      // a partial quote is not judged (tshark checksums the part and calls it Bad)
      const segLen = q.ipTotalLen - (t - off);
      if (segLen >= 20 && tcap >= segLen) {
        const pseudo = q.ipVersion === 4 ? pseudo4(b, q.srcOff, q.dstOff, PROTO_TCP, segLen) : pseudo6(b, q.srcOff, q.dstOff, PROTO_TCP, segLen);
        q.tcpChecksumStatus = judgeTransport(q.tcpChecksum, pseudo, sum16(b, t, segLen));
      }
    }
  }
}
