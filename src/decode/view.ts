/**
 * The decoded view of one frame. One Packet is reused for every frame: numbers are plain fields, byte
 * ranges are offsets into `buf` (the frame's buffer) or `tBuf` (the transport's buffer, which differs from
 * `buf` when IP fragments were reassembled). Text (addresses) is made only when asked for.
 * Valid during the frame's callback only.
 */
import type { Frame } from '../input/frame.js';
import { formatIPv4, formatIPv6 } from './addr.js';
import type { ChecksumStatus } from './checksum.js';

export type StopLayer = 'link' | 'ip' | 'ipv6' | 'tcp' | 'udp' | 'icmp' | 'icmpv6';
/** why decoding stopped before the end: not enough bytes (snaplen, truncated frame) or bytes that are wrong */
export type StopKind = 'truncated' | 'malformed' | 'unsupported';

export const ETH_IPV4 = 0x0800;
export const ETH_IPV6 = 0x86dd;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;
export const TCP_AE = 0x100;

/** The IP and transport header an ICMP error quotes: enough to tell which connection it is about. */
export class QuotedPacket {
  present = false;
  /** 4 or 6; 0 when the quote is too short for an IP header */
  ipVersion = 0;
  srcOff = 0;
  dstOff = 0;
  proto = -1;
  ttl = -1;
  ipId = -1;
  ipTotalLen = -1;
  srcPort = -1;
  dstPort = -1;
  /** TCP sequence number, -1 when not quoted */
  seq = -1;
  /** TCP acknowledgment number when the quote reaches it, else -1 */
  ack = -1;
  /** TCP flags when the quote reaches them (ICMP quotes usually stop after 8 bytes of TCP), else -1 */
  tcpFlags = -1;
  /** TCP checksum field when the quote reaches it, else -1 */
  tcpChecksum = -1;
  /** the quoted TCP segment's checksum, judged only when the whole segment is quoted; '' otherwise */
  tcpChecksumStatus: ChecksumStatus | '' = '';

  reset(): void {
    this.tcpChecksumStatus = '';
    this.present = false;
    this.ipVersion = 0;
    this.proto = this.ttl = this.ipId = this.ipTotalLen = this.srcPort = this.dstPort = this.seq = this.ack = this.tcpFlags = this.tcpChecksum = -1;
  }
}

export class Packet {
  frame!: Frame;
  buf: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(new ArrayBuffer(0));
  /** end of the usable captured bytes in buf (FCS excluded) */
  end = 0;

  // ---- link
  linkType = 0;
  /** eth.type as tshark shows it (outermost type field); -1 when not Ethernet */
  ethType = -1;
  /** the ethertype of the network layer carried, after VLAN tags; -1 unknown */
  netType = -1;
  vlanCount = 0;
  vlanId0 = -1;
  vlanId1 = -1;
  /** Linux cooked packet type (0 to us, 1 broadcast, 2 multicast, 3 other host, 4 sent by us); -1 none */
  sllPktType = -1;
  /** SLL2 interface index; -1 none */
  sllIfindex = -1;
  /** BSD loopback address family; -1 none */
  nullFamily = -1;

  // ---- network
  /** 4, 6 or 0 (no IP) */
  ipVersion = 0;
  netOff = 0;
  ipHdrLen = 0;
  /** IPv4 total length / IPv6 40 + payload length, as on the wire */
  ipTotalLen = 0;
  ipTos = 0;
  ipTtl = 0;
  ipId = 0;
  ipFlags = 0;
  /** fragment offset in bytes */
  ipFragOffset = 0;
  ipMoreFragments = false;
  /** IPv4 protocol field / IPv6 final next header */
  ipProto = -1;
  /** IPv6 first next header (ipv6.nxt) */
  ipv6Nxt = -1;
  ipv6FlowLabel = 0;
  ipv6ExtCount = 0;
  ipOptionsLen = 0;
  ipChecksum = -1;
  ipChecksumStatus: ChecksumStatus = 'unverified';
  srcOff = 0;
  dstOff = 0;
  /** this frame is an IP fragment whose datagram is not complete here (no transport decoded) */
  fragment = false;
  /** this frame completed a fragmented datagram; transport decoded from the reassembled bytes */
  reassembled = false;
  reassembledFrames = 0;

  // ---- transport (tBuf is buf, or the reassembled datagram)
  tBuf: Uint8Array = new Uint8Array(0);
  tView: DataView = new DataView(new ArrayBuffer(0));
  tOff = 0;
  /** bytes of the transport segment captured */
  tCapLen = 0;
  /** bytes of the transport segment on the wire */
  tLen = 0;
  /** the protocol decoded at the transport layer: 6, 17, 1, 58, or -1 */
  transport = -1;
  srcPort = -1;
  dstPort = -1;

  // TCP
  tcpSeq = -1;
  tcpAck = -1;
  tcpHdrLen = 0;
  tcpFlags = -1;
  tcpWindow = -1;
  tcpChecksum = -1;
  tcpUrgent = 0;
  /** tcp.len: payload bytes on the wire */
  tcpLen = -1;
  /** payload bytes captured (less than tcpLen when the snaplen cut the packet) */
  tcpPayloadCapLen = 0;
  tcpPayloadOff = 0;
  tcpChecksumStatus: ChecksumStatus = 'unverified';
  /**
   * asked, once the ports are read, whether the TCP checksum is wanted (null: always); unwanted ones stay
   * 'unverified'. Set by a reader that tracks only some flows; kept across frames
   */
  tcpChecksumWanted: ((p: Packet) => boolean) | null = null;
  /** the checksum field shows the offload pattern (pseudo-header sum only) */
  tcpChecksumOffload = false;
  // TCP options
  tcpOptOff = 0;
  tcpOptLen = 0;
  tcpMss = -1;
  tcpWscale = -1;
  tcpSackPerm = false;
  tcpSackCount = 0;
  /** left/right edge pairs */
  readonly tcpSack = new Float64Array(8);
  tcpTsVal = -1;
  tcpTsEcr = -1;
  /** TFO cookie length; -1 no TFO option, 0 cookie request */
  tcpTfoLen = -1;
  tcpMptcp = false;
  tcpUnknownOpts = 0;
  tcpOptBad = false;

  // UDP
  udpLen = -1;
  udpChecksum = -1;
  udpChecksumStatus: ChecksumStatus = 'unverified';

  // ICMP / ICMPv6
  icmpType = -1;
  icmpCode = -1;
  icmpChecksum = -1;
  readonly quoted = new QuotedPacket();

  // ---- where and why decoding stopped early ('' when it did not)
  stopLayer: StopLayer | '' = '';
  stopKind: StopKind | '' = '';
  stopReason = '';
  /** offset from the frame start where decoding stopped */
  stopOffset = -1;

  /**
   * Make the view the one of a fresh frame. Fields are set by layer, each layer's only after the field that
   * marks it (ipVersion, transport, tcpOptLen, stopLayer), so a layer the previous frame did not reach is
   * still as the last reset left it and is skipped here.
   */
  reset(frame: Frame): void {
    this.frame = frame;
    this.buf = frame.buf;
    this.view = frame.view;
    this.end = frame.offset + frame.capLen;
    this.linkType = frame.linkType;
    this.ethType = this.netType = -1;
    this.vlanCount = 0;
    this.vlanId0 = this.vlanId1 = -1;
    this.sllPktType = this.sllIfindex = this.nullFamily = -1;
    this.netOff = 0;
    if (this.ipVersion !== 0) this.resetNetwork();
    if (this.stopLayer !== '') {
      this.stopLayer = this.stopKind = '';
      this.stopReason = '';
      this.stopOffset = -1;
    }
  }

  /** the network and transport fields, after a frame that had IP */
  private resetNetwork(): void {
    this.ipVersion = 0;
    this.ipHdrLen = this.ipTotalLen = this.ipTos = this.ipTtl = this.ipId = this.ipFlags = this.ipFragOffset = 0;
    this.ipMoreFragments = false;
    this.ipProto = this.ipv6Nxt = -1;
    this.ipv6FlowLabel = this.ipv6ExtCount = this.ipOptionsLen = 0;
    this.ipChecksum = -1;
    this.ipChecksumStatus = 'unverified';
    this.fragment = this.reassembled = false;
    this.reassembledFrames = 0;
    this.tCapLen = this.tLen = this.tOff = 0;
    const t = this.transport;
    if (t === -1) return;
    this.transport = this.srcPort = this.dstPort = -1;
    if (t === PROTO_TCP) {
      this.tcpSeq = this.tcpAck = this.tcpFlags = this.tcpWindow = this.tcpChecksum = this.tcpLen = -1;
      this.tcpHdrLen = this.tcpUrgent = this.tcpPayloadCapLen = this.tcpPayloadOff = 0;
      this.tcpChecksumStatus = 'unverified';
      this.tcpChecksumOffload = false;
      if (this.tcpOptLen !== 0) {
        this.tcpOptOff = this.tcpOptLen = 0;
        this.tcpMss = this.tcpWscale = this.tcpTsVal = this.tcpTsEcr = this.tcpTfoLen = -1;
        this.tcpSackPerm = this.tcpMptcp = this.tcpOptBad = false;
        this.tcpSackCount = this.tcpUnknownOpts = 0;
      } else this.tcpOptOff = 0;
    } else if (t === PROTO_UDP) {
      this.udpLen = this.udpChecksum = -1;
      this.udpChecksumStatus = 'unverified';
    } else {
      this.icmpType = this.icmpCode = this.icmpChecksum = -1;
      // a quote's fields are all set only after `present`: one not present is still as reset left it
      if (this.quoted.present) this.quoted.reset();
    }
  }

  stop(layer: StopLayer, kind: StopKind, reason: string, at: number): void {
    if (this.stopLayer !== '') return;
    this.stopLayer = layer;
    this.stopKind = kind;
    this.stopReason = reason;
    this.stopOffset = at - this.frame.offset;
  }

  get isTcp(): boolean {
    return this.transport === PROTO_TCP && this.tcpFlags >= 0;
  }

  /** source address as text (ip.src / ipv6.src); '' without IP */
  src(): string {
    return this.ipVersion === 4 ? formatIPv4(this.buf, this.srcOff) : this.ipVersion === 6 ? formatIPv6(this.buf, this.srcOff) : '';
  }

  dst(): string {
    return this.ipVersion === 4 ? formatIPv4(this.buf, this.dstOff) : this.ipVersion === 6 ? formatIPv6(this.buf, this.dstOff) : '';
  }

  /** the TCP payload bytes captured, as a view (valid during the callback) */
  tcpPayload(): Uint8Array {
    return this.tBuf.subarray(this.tcpPayloadOff, this.tcpPayloadOff + this.tcpPayloadCapLen);
  }
}
