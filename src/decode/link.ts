/**
 * Link layers down to the network layer: Ethernet II with 802.1Q/802.1ad/QinQ tags and MPLS, Linux cooked SLL and
 * SLL2, raw IP, BSD null/loopback. Sets `netType` and `netOff` on the packet; returns false when there is
 * no IP to decode (another protocol, or too few bytes).
 */
import { LINKTYPE } from '../input/linktypes.js';
import { ETH_IPV4, ETH_IPV6, type Packet } from './view.js';

/** 802.1Q, 802.1ad and the pre-standard QinQ tags (compared, not looked up in a Set: this runs per frame) */
const isVlanTag = (t: number): boolean => t === 0x8100 || t === 0x88a8 || t === 0x9100 || t === 0x9200;
const ETH_MPLS = 0x8847;
const ETH_MPLS_MULTICAST = 0x8848;
/** MPLS Generic Associated Channel Label: what follows is a control channel, not IP */
const MPLS_GAL = 13;

export function decodeLink(p: Packet): boolean {
  const b = p.buf;
  const start = p.frame.offset;
  const end = p.end;
  switch (p.linkType) {
    case LINKTYPE.EN10MB: {
      if (end - start < 14) {
        p.stop('link', 'truncated', `Ethernet header needs 14 bytes, ${end - start} captured`, start);
        return false;
      }
      let type = (b[start + 12]! << 8) | b[start + 13]!;
      p.ethType = type;
      let off = start + 14;
      while (isVlanTag(type)) {
        if (end - off < 4) {
          p.stop('link', 'truncated', 'VLAN tag cut short', off);
          return false;
        }
        const vid = ((b[off]! << 8) | b[off + 1]!) & 0x0fff;
        if (p.vlanCount === 0) p.vlanId0 = vid;
        else if (p.vlanCount === 1) p.vlanId1 = vid;
        p.vlanCount++;
        type = (b[off + 2]! << 8) | b[off + 3]!;
        off += 4;
      }
      if (type === ETH_MPLS || type === ETH_MPLS_MULTICAST) {
        off = skipMpls(p, off);
        if (off < 0) return false;
        type = p.netType;
      }
      p.netType = type;
      p.netOff = off;
      return type === ETH_IPV4 || type === ETH_IPV6;
    }
    case LINKTYPE.LINUX_SLL: {
      if (end - start < 16) {
        p.stop('link', 'truncated', `Linux cooked header needs 16 bytes, ${end - start} captured`, start);
        return false;
      }
      p.sllPktType = (b[start]! << 8) | b[start + 1]!;
      p.netType = (b[start + 14]! << 8) | b[start + 15]!;
      p.netOff = start + 16;
      return p.netType === ETH_IPV4 || p.netType === ETH_IPV6;
    }
    case LINKTYPE.LINUX_SLL2: {
      if (end - start < 20) {
        p.stop('link', 'truncated', `Linux cooked v2 header needs 20 bytes, ${end - start} captured`, start);
        return false;
      }
      p.netType = (b[start]! << 8) | b[start + 1]!;
      p.sllIfindex = p.view.getUint32(start + 4, false);
      p.sllPktType = b[start + 10]!;
      p.netOff = start + 20;
      return p.netType === ETH_IPV4 || p.netType === ETH_IPV6;
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (end - start < 4) {
        p.stop('link', 'truncated', `loopback header needs 4 bytes, ${end - start} captured`, start);
        return false;
      }
      // LOOP is in network order; NULL in the capturing host's, so guess it as tshark does
      const v = p.linkType === LINKTYPE.LOOP ? p.view.getUint32(start, false) : nullHeaderValue(p.view.getUint32(start, true));
      p.netOff = start + 4;
      if (v > IEEE_802_3_MAX_LEN) {
        // not an address family but an ethertype (some systems write one)
        p.netType = v & 0xffff;
        return p.netType === ETH_IPV4 || p.netType === ETH_IPV6;
      }
      p.nullFamily = v;
      if (v === 2) p.netType = ETH_IPV4;
      else if (v === 24 || v === 28 || v === 30) p.netType = ETH_IPV6;
      else return false;
      return true;
    }
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_LEGACY_12:
    case LINKTYPE.RAW_LEGACY_14: {
      if (end - start < 1) return false;
      const v = b[start]! >> 4;
      p.netOff = start;
      if (v === 4) p.netType = ETH_IPV4;
      else if (v === 6) p.netType = ETH_IPV6;
      else {
        p.stop('link', 'malformed', `raw IP frame with IP version ${v}`, start);
        return false;
      }
      return true;
    }
    case LINKTYPE.IPV4:
      p.netType = ETH_IPV4;
      p.netOff = start;
      return true;
    case LINKTYPE.IPV6:
      p.netType = ETH_IPV6;
      p.netOff = start;
      return true;
    default:
      return false;
  }
}

const IEEE_802_3_MAX_LEN = 1500;

/**
 * The value of a DLT_NULL header read as little-endian, turned into an address family (or an ethertype,
 * when above 1500) the way tshark's null dissector does: a BSD family has its upper bytes zero in the
 * writer's order, so nonzero upper bytes mean the other byte order; IRIX and UNICOS/mp write a 16-bit
 * family in the first two bytes.
 */
function nullHeaderValue(le: number): number {
  if ((le & 0xffff0000) !== 0) {
    if ((le & 0xff000000) === 0 && (le & 0x00ff0000) < 0x00060000) return le >>> 16;
    return (((le & 0xff) << 24) | ((le & 0xff00) << 8) | ((le >>> 8) & 0xff00) | (le >>> 24)) >>> 0;
  }
  if ((le & 0xff) === 0 && (le & 0xff00) < 0x0600) return ((le & 0xff) << 8) | ((le >>> 8) & 0xff);
  return le;
}

/**
 * Skip an MPLS label stack starting at `off`. The payload's type is not in the stack: like tshark (RFC 4928
 * first-nibble rule), a payload starting with nibble 4 is IPv4 and 6 is IPv6. Sets `netType` and returns
 * the payload offset, or -1 when there is no IP to decode.
 */
function skipMpls(p: Packet, off: number): number {
  const b = p.buf;
  for (;;) {
    if (p.end - off < 4) {
      p.stop('link', 'truncated', 'MPLS label stack cut short', off);
      return -1;
    }
    const label = (b[off]! << 12) | (b[off + 1]! << 4) | (b[off + 2]! >> 4);
    const bottom = (b[off + 2]! & 1) !== 0;
    off += 4;
    if (label === MPLS_GAL) return -1;
    if (bottom) break;
  }
  if (p.end - off < 1) return -1;
  const nibble = b[off]! >> 4;
  p.netType = nibble === 4 ? ETH_IPV4 : nibble === 6 ? ETH_IPV6 : -1;
  return p.netType < 0 ? -1 : off;
}
