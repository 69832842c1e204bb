/**
 * `ssmcap info`: what each capture holds, read and decoded end to end (like capinfos, plus what
 * ssmcap's decoders made of it): format, link types, frames, TCP conversations, connections to the SSM
 * port, frames the snaplen cut, frames that did not decode, checksum attribution, the read error if any.
 */
import { Decoder } from '../decode/packet.js';
import { TCP_ACK, TCP_SYN } from '../decode/view.js';
import { ChecksumLedger, type ChecksumSummaryLine } from '../diagnose/checksums.js';
import type { CaptureError } from '../errors.js';
import { isDecodedLinkType, linkTypeName } from '../input/linktypes.js';
import { readCapture, type CaptureInput, type ReadOptions } from '../input/reader.js';
import { TcpStreamIndex } from '../flow/stream-index.js';

export interface CaptureInfo {
  file: string;
  format: string | null;
  compression: string | null;
  byteOrder: string | null;
  linkTypes: { linkType: number; name: string; frames: number; decoded: boolean }[];
  snaplens: number[];
  frames: number;
  bytes: number;
  firstTime: string | null;
  lastTime: string | null;
  ipv4: number;
  ipv6: number;
  tcp: number;
  udp: number;
  icmp: number;
  tcpStreams: number;
  /** SYNs (without ACK) to the server port */
  synsToPort: number;
  port: number;
  /** frames whose payload the snaplen cut */
  snaplenCut: number;
  /** frames whose headers stopped decoding early, by reason */
  stopped: Record<string, number>;
  fragmentsReassembled: number;
  decryptionSecrets: number;
  checksums: ChecksumSummaryLine[];
  error: CaptureError | null;
  readable: boolean;
}

export async function inspectCapture(input: CaptureInput, opts: ReadOptions & { port?: number } = {}): Promise<CaptureInfo> {
  const port = opts.port ?? 8443;
  const decoder = new Decoder();
  const streams = new TcpStreamIndex();
  const ledger = new ChecksumLedger();
  const stopped: Record<string, number> = {};
  let firstTime: string | null = null;
  let lastSec = -1;
  let lastNsec = 0;
  let ipv4 = 0, ipv6 = 0, tcp = 0, udp = 0, icmp = 0, syns = 0, cut = 0;
  const summary = await readCapture(
    input,
    (frame) => {
      if (frame.hasTime) {
        if (firstTime === null) firstTime = frame.timeEpoch();
        lastSec = frame.tsSec;
        lastNsec = frame.tsNsec;
      }
      const p = decoder.decode(frame);
      if (p.ipVersion === 4) ipv4++;
      else if (p.ipVersion === 6) ipv6++;
      if (p.stopLayer) {
        const k = `${p.stopLayer} ${p.stopKind}`;
        stopped[k] = (stopped[k] ?? 0) + 1;
      }
      if (frame.capLen < frame.origLen) cut++;
      // the TCP header an ICMP error quotes opens a conversation when tshark has not seen it
      streams.quotedIndex(p);
      if (p.isTcp) {
        tcp++;
        streams.index(p);
        ledger.add(p);
        if ((p.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN && p.dstPort === port) syns++;
      } else if (p.transport === 17) udp++;
      else if (p.transport === 1 || p.transport === 58) icmp++;
    },
    opts,
  );
  return {
    file: summary.file,
    format: summary.format,
    compression: summary.compression,
    byteOrder: summary.byteOrder,
    linkTypes: summary.linkTypes.map((l) => ({ ...l, name: linkTypeName(l.linkType), decoded: isDecodedLinkType(l.linkType) })),
    snaplens: [...new Set(summary.interfaces.map((i) => i.snaplen))],
    frames: summary.frames,
    bytes: summary.bytes,
    firstTime,
    lastTime: lastSec >= 0 ? `${lastSec}.${String(lastNsec).padStart(9, '0')}` : null,
    ipv4,
    ipv6,
    tcp,
    udp,
    icmp,
    tcpStreams: streams.count,
    synsToPort: syns,
    port,
    snaplenCut: cut,
    stopped,
    fragmentsReassembled: decoder.fragments?.reassembled ?? 0,
    decryptionSecrets: summary.secrets.length,
    checksums: ledger.summarize(),
    error: summary.error,
    readable: summary.readable,
  };
}

export function formatInfoText(i: CaptureInfo): string {
  const lines: string[] = [];
  const fmt = i.format ? `${i.format}${i.compression ? ` (${i.compression})` : ''}${i.byteOrder ? `, ${i.byteOrder === 'le' ? 'little' : i.byteOrder === 'be' ? 'big' : 'mixed'}-endian` : ''}` : 'unreadable';
  lines.push(`${i.file}: ${fmt}`);
  if (i.readable) {
    const lts = i.linkTypes.map((l) => `${l.name} (${l.linkType}) x${l.frames}${l.decoded ? '' : ', not decoded'}`).join(', ') || 'none';
    lines.push(`  frames ${i.frames}, link types: ${lts}; snaplen ${i.snaplens.join('/') || '-'}`);
    if (i.firstTime) lines.push(`  time ${i.firstTime} .. ${i.lastTime}`);
    lines.push(`  IPv4 ${i.ipv4}, IPv6 ${i.ipv6}; TCP ${i.tcp} in ${i.tcpStreams} conversations, UDP ${i.udp}, ICMP ${i.icmp}; SYNs to port ${i.port}: ${i.synsToPort}`);
    if (i.snaplenCut) lines.push(`  ${i.snaplenCut} frames cut by the snaplen (payload partly missing)`);
    const st = Object.entries(i.stopped);
    if (st.length) lines.push(`  decoding stopped early: ${st.map(([k, n]) => `${k} x${n}`).join(', ')}`);
    if (i.fragmentsReassembled) lines.push(`  IP datagrams reassembled from fragments: ${i.fragmentsReassembled}`);
    if (i.decryptionSecrets) lines.push(`  decryption secrets blocks: ${i.decryptionSecrets}`);
    for (const c of i.checksums) lines.push(`  checksums: ${c.text}`);
  }
  if (i.error) lines.push(`  error: ${i.error.message}`);
  return lines.join('\n');
}

export function infoJson(i: CaptureInfo): Record<string, unknown> {
  return { ...i, error: i.error ? i.error.toJSON() : null };
}
