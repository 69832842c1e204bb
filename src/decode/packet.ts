/**
 * decodePacket: one frame into the reused Packet view, link to transport. Lax by design: what the bytes
 * hold is decoded, and where they stop (snaplen, a malformed header) is recorded in `stop*`, never thrown.
 */
import type { Frame } from '../input/frame.js';
import { DEFAULT_FRAGMENT_LIMITS, FragmentStore, type FragmentLimits } from './fragments.js';
import { decodeIPv4, decodeIPv6 } from './ip.js';
import { decodeLink } from './link.js';
import { ETH_IPV4, ETH_IPV6, Packet } from './view.js';

export interface DecoderOptions {
  /** reassemble IP fragments (default true) */
  reassemble?: boolean;
  fragmentLimits?: FragmentLimits;
}

/** A decoder keeps the state decoding needs across frames (fragments) and one reused Packet. */
export class Decoder {
  readonly packet = new Packet();
  readonly fragments: FragmentStore | null;

  constructor(opts: DecoderOptions = {}) {
    this.fragments = opts.reassemble === false ? null : new FragmentStore(opts.fragmentLimits ?? DEFAULT_FRAGMENT_LIMITS);
  }

  /** decode a frame; the returned Packet is this decoder's reused one */
  decode(frame: Frame): Packet {
    const p = this.packet;
    p.reset(frame);
    if (frame.kind !== 'packet') return p;
    if (!decodeLink(p)) return p;
    if (p.netType === ETH_IPV4) decodeIPv4(p, this.fragments);
    else if (p.netType === ETH_IPV6) decodeIPv6(p, this.fragments);
    return p;
  }
}

/** decode one frame with a fresh decoder (no fragment state across calls); for one-off use */
export function decode(frame: Frame, into: Packet = new Packet()): Packet {
  into.reset(frame);
  if (frame.kind !== 'packet') return into;
  if (!decodeLink(into)) return into;
  if (into.netType === ETH_IPV4) decodeIPv4(into, null);
  else if (into.netType === ETH_IPV6) decodeIPv6(into, null);
  return into;
}
