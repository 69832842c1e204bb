/**
 * Link layers down to the network layer: Ethernet II with 802.1Q/802.1ad/QinQ tags, Linux cooked SLL and
 * SLL2, raw IP, BSD null/loopback. Sets `netType` and `netOff` on the packet; returns false when there is
 * no IP to decode (another protocol, or too few bytes).
 */
import { LINKTYPE } from '../input/linktypes.js';
import { ETH_IPV4, ETH_IPV6, type Packet } from './view.js';

const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100, 0x9200]);

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
      while (VLAN_TAGS.has(type)) {
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
      // the family is in the capturing host's byte order for NULL, network order for LOOP: accept either
      const beFam = p.view.getUint32(start, false);
      const leFam = p.view.getUint32(start, true);
      const fam = beFam < 256 ? beFam : leFam;
      p.nullFamily = fam;
      p.netOff = start + 4;
      if (fam === 2) p.netType = ETH_IPV4;
      else if (fam === 24 || fam === 28 || fam === 30) p.netType = ETH_IPV6;
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
