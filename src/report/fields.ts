/**
 * Per-frame fields named as tshark names them. Each field knows whether it applies to a frame, its JSON
 * value and its `tshark -T fields` text. Used by `ssmcap packets` (NDJSON and TSV) and by the tests that
 * compare ssmcap with tshark.
 */
import { formatIPv4, formatIPv6 } from '../decode/addr.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type Packet } from '../decode/view.js';

export interface FieldContext {
  /** tcp.stream of this frame, -1 when not TCP */
  tcpStream: number;
  /** tcp.stream of the TCP header an ICMP error quotes (TcpStreamIndex.quotedIndex), -1 or absent when none */
  quotedTcpStream?: number;
}

/**
 * How an encoder may write a field's value without making its JSON string: `raw` gives a number (negative
 * when the field is absent) that `fmt` turns into exactly the text json() would give. json() and text()
 * of such a field are made from the same `raw`, so there is one definition of the value.
 * uint: raw is the value, a non-negative integer (a JSON number);
 * hex2/hex4/hex5: "0x" and that many lower-case hex digits at least (a JSON string);
 * ipv4: raw is the offset of four address bytes in p.buf (a JSON string of the dotted quad);
 * ipv6: raw is the offset of sixteen address bytes in p.buf (a JSON string, as formatIPv6 prints it);
 * epoch: raw is 1 when the frame has a time, as Frame.timeEpoch() prints it (a JSON string).
 */
export type FastFormat = 'uint' | 'hex2' | 'hex4' | 'hex5' | 'ipv4' | 'ipv6' | 'epoch';

/**
 * The layer a field belongs to: when the layer's guard (LAYER_GUARDS) is false for a frame, the field is
 * absent from it, so an encoder may skip the layer's fields with one check (a test holds every field to this).
 */
export type Layer = 'ipv4' | 'ipv6' | 'tcp' | 'tcpOptions' | 'udp' | 'icmp';

export const LAYER_GUARDS: Record<Layer, (p: Packet) => boolean> = {
  ipv4: (p) => p.ipVersion === 4,
  ipv6: (p) => p.ipVersion === 6,
  tcp: (p) => p.transport === PROTO_TCP,
  // options need a header longer than 20 bytes
  tcpOptions: (p) => p.transport === PROTO_TCP && p.tcpHdrLen > 20,
  udp: (p) => p.transport === PROTO_UDP,
  icmp: (p) => p.transport === PROTO_ICMP || p.transport === PROTO_ICMPV6,
};

export interface FieldDef {
  name: string;
  /** see Layer; absent: no guard */
  layer?: Layer;
  /** the fast form, for encoders that write bytes (see FastFormat); absent for most fields */
  fast?: { fmt: FastFormat; raw(p: Packet, c: FieldContext): number };
  /** JSON value, or undefined when the field does not apply */
  json(p: Packet, c: FieldContext): string | number | boolean | undefined;
  /** text as `tshark -T fields` prints it ('' when absent) */
  text(p: Packet, c: FieldContext): string;
}

const hex4 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

function def(
  name: string,
  json: (p: Packet, c: FieldContext) => string | number | boolean | undefined,
  text?: (v: string | number | boolean) => string,
): FieldDef {
  return {
    name,
    json,
    text(p, c) {
      const v = json(p, c);
      return v === undefined ? '' : text ? text(v) : String(v);
    },
  };
}

const HEX_WIDTH = { hex2: 2, hex4: 4, hex5: 5 } as const;

/** a field with a fast form: its JSON value is made from `raw` (negative: absent) */
function fastDef(name: string, fmt: FastFormat, raw: (p: Packet, c: FieldContext) => number, uintText?: (v: number) => string): FieldDef {
  let json: (p: Packet, c: FieldContext) => string | number | undefined;
  if (fmt === 'uint') {
    json = (p, c) => {
      const v = raw(p, c);
      return v < 0 ? undefined : v;
    };
  } else if (fmt === 'ipv4') {
    json = (p, c) => {
      const o = raw(p, c);
      return o < 0 ? undefined : formatIPv4(p.buf, o);
    };
  } else if (fmt === 'ipv6') {
    json = (p, c) => {
      const o = raw(p, c);
      return o < 0 ? undefined : formatIPv6(p.buf, o);
    };
  } else if (fmt === 'epoch') {
    json = (p, c) => (raw(p, c) < 0 ? undefined : p.frame.timeEpoch());
  } else {
    const w = HEX_WIDTH[fmt];
    json = (p, c) => {
      const v = raw(p, c);
      return v < 0 ? undefined : `0x${v.toString(16).padStart(w, '0')}`;
    };
  }
  return {
    name,
    fast: { fmt, raw },
    json,
    text(p, c) {
      const v = json(p, c);
      return v === undefined ? '' : uintText && typeof v === 'number' ? uintText(v) : String(v);
    },
  };
}

/** an integer field: present when `raw` gives a value >= 0; `text` formats it for -T fields (default String) */
const uintDef = (name: string, raw: (p: Packet, c: FieldContext) => number, text?: (v: number) => string) => fastDef(name, 'uint', raw, text);

const isPkt = (p: Packet) => p.frame.kind === 'packet';
const tcp = (p: Packet) => p.transport === PROTO_TCP;
const tcpFull = (p: Packet) => p.transport === PROTO_TCP && p.tcpFlags >= 0;
const hasTcpLen = (p: Packet) => tcpFull(p) && p.tcpLen >= 0;
const icmp4 = (p: Packet) => p.transport === PROTO_ICMP && p.icmpType >= 0;
const icmp6 = (p: Packet) => p.transport === PROTO_ICMPV6 && p.icmpType >= 0;

/** the same fields, each marked as belonging to `layer` */
function inLayer(layer: Layer, fields: FieldDef[]): FieldDef[] {
  for (const f of fields) f.layer = layer;
  return fields;
}

export const FIELDS: FieldDef[] = [
  uintDef('frame.number', (p) => p.frame.number),
  fastDef('frame.time_epoch', 'epoch', (p) => (p.frame.hasTime ? 1 : -1)),
  uintDef('frame.len', (p) => p.frame.origLen),
  uintDef('frame.cap_len', (p) => p.frame.capLen),
  uintDef('frame.interface_id', (p) => (isPkt(p) && p.frame.interfaceId > 0 ? p.frame.interfaceId : -1)),
  fastDef('eth.type', 'hex4', (p) => (p.ethType >= 0 ? p.ethType : -1)),
  uintDef('vlan.id', (p) => (p.vlanCount > 0 ? p.vlanId0 : -1)),
  uintDef('sll.pkttype', (p) => (p.sllPktType >= 0 ? p.sllPktType : -1)),
  ...inLayer('ipv4', [
    def('ip.version', (p) => (p.ipVersion === 4 ? 4 : undefined)),
    def('ip.hdr_len', (p) => (p.ipVersion === 4 ? p.ipHdrLen : undefined)),
    fastDef('ip.dsfield', 'hex2', (p) => (p.ipVersion === 4 ? p.ipTos : -1)),
    def('ip.len', (p) => (p.ipVersion === 4 ? p.ipTotalLen : undefined)),
    fastDef('ip.id', 'hex4', (p) => (p.ipVersion === 4 ? p.ipId : -1)),
    def('ip.flags.df', (p) => (p.ipVersion === 4 ? (p.ipFlags & 2) !== 0 : undefined), (v) => (v ? '1' : '0')),
    def('ip.flags.mf', (p) => (p.ipVersion === 4 ? p.ipMoreFragments : undefined), (v) => (v ? '1' : '0')),
    def('ip.frag_offset', (p) => (p.ipVersion === 4 ? p.ipFragOffset : undefined)),
    def('ip.ttl', (p) => (p.ipVersion === 4 ? p.ipTtl : undefined)),
    def('ip.proto', (p) => (p.ipVersion === 4 ? p.ipProto : undefined)),
    fastDef('ip.checksum', 'hex4', (p) => (p.ipVersion === 4 && p.ipChecksum >= 0 ? p.ipChecksum : -1)),
    def('ip.checksum.status', (p) => (p.ipVersion === 4 && p.ipHdrLen > 0 ? p.ipChecksumStatus : undefined)),
    fastDef('ip.src', 'ipv4', (p) => (p.ipVersion === 4 ? p.srcOff : -1)),
    fastDef('ip.dst', 'ipv4', (p) => (p.ipVersion === 4 ? p.dstOff : -1)),
  ]),
  ...inLayer('ipv6', [
    fastDef('ipv6.tclass', 'hex2', (p) => (p.ipVersion === 6 ? p.ipTos : -1)),
    fastDef('ipv6.flow', 'hex5', (p) => (p.ipVersion === 6 ? p.ipv6FlowLabel : -1)),
    def('ipv6.plen', (p) => (p.ipVersion === 6 ? p.ipTotalLen - 40 : undefined)),
    def('ipv6.nxt', (p) => (p.ipVersion === 6 ? p.ipv6Nxt : undefined)),
    def('ipv6.hlim', (p) => (p.ipVersion === 6 ? p.ipTtl : undefined)),
    fastDef('ipv6.src', 'ipv6', (p) => (p.ipVersion === 6 ? p.srcOff : -1)),
    fastDef('ipv6.dst', 'ipv6', (p) => (p.ipVersion === 6 ? p.dstOff : -1)),
  ]),
  def('ssmcap.ip.fragment', (p) => (p.fragment ? true : undefined)),
  def('ssmcap.ip.reassembled_frames', (p) => (p.reassembled ? p.reassembledFrames : undefined)),
  ...inLayer('tcp', [
    uintDef('tcp.srcport', (p) => (tcp(p) && p.srcPort >= 0 ? p.srcPort : -1)),
    uintDef('tcp.dstport', (p) => (tcp(p) && p.dstPort >= 0 ? p.dstPort : -1)),
    uintDef('tcp.stream', (p, c) => (tcpFull(p) && c.tcpStream >= 0 ? c.tcpStream : -1)),
    uintDef('tcp.len', (p) => (hasTcpLen(p) ? p.tcpLen : -1)),
    uintDef('tcp.seq', (p) => (tcpFull(p) ? p.tcpSeq : -1)),
    uintDef('tcp.ack', (p) => (tcpFull(p) ? p.tcpAck : -1)),
    uintDef('tcp.hdr_len', (p) => (tcpFull(p) ? p.tcpHdrLen : -1)),
    uintDef('tcp.flags', (p) => (tcpFull(p) ? p.tcpFlags : -1), hex4),
    def('tcp.flags.str', (p) => (tcpFull(p) ? flagString(p.tcpFlags) : undefined)),
    uintDef('tcp.window_size_value', (p) => (tcpFull(p) ? p.tcpWindow : -1)),
    uintDef('tcp.checksum', (p) => (tcpFull(p) ? p.tcpChecksum : -1), hex4),
    def('tcp.checksum.status', (p) => (tcpFull(p) && p.tcpHdrLen >= 20 ? p.tcpChecksumStatus : undefined)),
    def('tcp.checksum.offload', (p) => (tcpFull(p) && p.tcpChecksumOffload ? true : undefined), (v) => (v ? '1' : '0')),
    uintDef('tcp.urgent_pointer', (p) => (tcpFull(p) && p.tcpUrgent ? p.tcpUrgent : -1)),
  ]),
  ...inLayer('tcpOptions', [
    uintDef('tcp.options.mss_val', (p) => (tcpFull(p) && p.tcpMss >= 0 ? p.tcpMss : -1)),
    uintDef('tcp.options.wscale.shift', (p) => (tcpFull(p) && p.tcpWscale >= 0 ? p.tcpWscale : -1)),
    def('tcp.options.sack_perm', (p) => (tcpFull(p) && p.tcpSackPerm ? true : undefined), () => '1'),
    uintDef('tcp.options.sack.count', (p) => (tcpFull(p) && p.tcpSackCount > 0 ? p.tcpSackCount : -1)),
    def('tcp.options.sack_le', (p) => (tcpFull(p) && p.tcpSackCount > 0 ? sackEdges(p, 0) : undefined)),
    def('tcp.options.sack_re', (p) => (tcpFull(p) && p.tcpSackCount > 0 ? sackEdges(p, 1) : undefined)),
    uintDef('tcp.options.timestamp.tsval', (p) => (tcpFull(p) && p.tcpTsVal >= 0 ? p.tcpTsVal : -1)),
    uintDef('tcp.options.timestamp.tsecr', (p) => (tcpFull(p) && p.tcpTsEcr >= 0 ? p.tcpTsEcr : -1)),
    uintDef('tcp.options.tfo', (p) => (tcpFull(p) && p.tcpTfoLen >= 0 ? p.tcpTfoLen : -1)),
    def('tcp.options.mptcp', (p) => (tcpFull(p) && p.tcpMptcp ? true : undefined), () => '1'),
  ]),
  ...inLayer('tcp', [
    uintDef('tcp.payload.captured', (p) => (hasTcpLen(p) && p.tcpPayloadCapLen < p.tcpLen ? p.tcpPayloadCapLen : -1)),
  ]),
  ...inLayer('udp', [
    uintDef('udp.srcport', (p) => (p.transport === PROTO_UDP && p.srcPort >= 0 ? p.srcPort : -1)),
    uintDef('udp.dstport', (p) => (p.transport === PROTO_UDP && p.dstPort >= 0 ? p.dstPort : -1)),
    uintDef('udp.length', (p) => (p.transport === PROTO_UDP && p.udpLen >= 0 ? p.udpLen : -1)),
    def('udp.checksum.status', (p) => (p.transport === PROTO_UDP && p.udpLen >= 0 ? p.udpChecksumStatus : undefined)),
  ]),
  ...inLayer('icmp', [
    uintDef('icmp.type', (p) => (icmp4(p) ? p.icmpType : -1)),
    def('icmp.code', (p) => (icmp4(p) ? p.icmpCode : undefined)),
    uintDef('icmpv6.type', (p) => (icmp6(p) ? p.icmpType : -1)),
    def('icmpv6.code', (p) => (icmp6(p) ? p.icmpCode : undefined)),
  ]),
  def('ssmcap.stop', (p) => (p.stopLayer ? `${p.stopLayer} ${p.stopKind} at ${p.stopOffset}: ${p.stopReason}` : undefined)),
];

export const FIELD_BY_NAME = new Map(FIELDS.map((f) => [f.name, f]));

/** the ICMP error's quoted packet, as a nested record with tshark's names */
export function quotedRecord(p: Packet, c?: FieldContext): Record<string, string | number> | undefined {
  const q = p.quoted;
  if (!q.present || q.ipVersion === 0) return undefined;
  const r: Record<string, string | number> = {};
  if (q.ipVersion === 4) {
    r['ip.src'] = formatIPv4(p.tBuf, q.srcOff);
    r['ip.dst'] = formatIPv4(p.tBuf, q.dstOff);
    r['ip.proto'] = q.proto;
    r['ip.ttl'] = q.ttl;
    r['ip.id'] = hex4(q.ipId);
  } else {
    r['ipv6.src'] = formatIPv6(p.tBuf, q.srcOff);
    r['ipv6.dst'] = formatIPv6(p.tBuf, q.dstOff);
    r['ipv6.nxt'] = q.proto;
    r['ipv6.hlim'] = q.ttl;
  }
  const l4 = q.proto === PROTO_TCP ? 'tcp' : q.proto === PROTO_UDP ? 'udp' : '';
  if (l4 && q.srcPort >= 0) {
    r[`${l4}.srcport`] = q.srcPort;
    r[`${l4}.dstport`] = q.dstPort;
  }
  if (q.seq >= 0) r['tcp.seq'] = q.seq;
  if (q.ack >= 0) r['tcp.ack'] = q.ack;
  if (q.tcpFlags >= 0) r['tcp.flags'] = q.tcpFlags;
  if (q.tcpChecksum >= 0) r['tcp.checksum'] = q.tcpChecksum;
  if (q.tcpChecksumStatus) r['tcp.checksum.status'] = q.tcpChecksumStatus;
  if (l4 === 'tcp' && c?.quotedTcpStream !== undefined && c.quotedTcpStream >= 0) r['tcp.stream'] = c.quotedTcpStream;
  return r;
}

function sackEdges(p: Packet, which: 0 | 1): string {
  const parts: number[] = [];
  for (let i = 0; i < p.tcpSackCount; i++) parts.push(p.tcpSack[2 * i + which]!);
  return parts.join(',');
}

const FLAG_CHARS = ['F', 'S', 'R', 'P', 'A', 'U', 'E', 'C', 'AE'];
/** Zeek/tshark-style flag letters, e.g. "SA" (tshark prints a 12-char map; this is the compact form) */
export function flagString(flags: number): string {
  if (flags >= 0 && flags < FLAG_STRINGS.length) return FLAG_STRINGS[flags]!;
  return makeFlagString(flags);
}

function makeFlagString(flags: number): string {
  let s = '';
  for (let i = 0; i < FLAG_CHARS.length; i++) if (flags & (1 << i)) s += FLAG_CHARS[i];
  return s;
}

/** every 9-bit flag combination, made once: no string per frame */
const FLAG_STRINGS = Array.from({ length: 512 }, (_, f) => makeFlagString(f));

export { hex4, hex8 };
