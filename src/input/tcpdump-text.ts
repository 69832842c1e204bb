/**
 * tcpdump text as a capture: what `tcpdump -nn -v[v]` (and the vManage `tcpdump vpn 0 ... options "-nn -vv"`)
 * prints, read line by line and turned back into the bytes of raw IP frames (LINKTYPE_RAW, 101), so the
 * decoders, the connection table and the verdicts work on it unchanged.
 *
 * What a frame holds: the IPv4 or IPv6 header tcpdump described (IPv4 header checksum recomputed unless
 * tcpdump printed `bad cksum`), then the TCP header (ports, flags, absolute seq/ack, window, urgent, the
 * options it printed encoded as real options, the checksum field tcpdump printed after `cksum`), the UDP
 * header, or the ICMP/ICMPv6 header with the quoted packet when tcpdump printed it. Payload bytes are known
 * only from a -x/-X/-XX hex dump; without one, capLen is the headers and origLen the IP total length, so the
 * payload shows as cut by the snaplen, as in a `-s 64` capture.
 *
 * Sequence numbers: tcpdump prints the numbers of a conversation relative to the ones of the first packet
 * with ACK set it saw (the SYN-ACK, or the first packet of a capture that starts mid-stream); that packet,
 * and every packet without ACK, is printed absolute. The same bookkeeping is done here in reverse. `-S`
 * (absolute everywhere) is recognised from the numbers themselves.
 *
 * Never throws for bad input: a line that is not understood is counted, and the first of them are kept
 * with their line numbers in the summary's `textLines`.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { CaptureError } from '../errors.js';
import { Frame } from './frame.js';
import { linkTypeName } from './linktypes.js';
import type { CaptureInput, CaptureSummary, ReadOptions, TextLineStats } from './reader.js';

export const TEXT_LINKTYPE = 101;
/** ARP lines become Ethernet frames */
const LINKTYPE_ETHERNET = 1;
const MAX_UNRECOGNIZED = 20;
/** bytes of the start of an input looked at to decide whether it is tcpdump text */
export const TEXT_SNIFF_BYTES = 32 * 1024;

// ---------------------------------------------------------------------------------------------- detection

const RE_BANNER = /^(?:tcpdump: |reading from file .*, link-type )/;
const RE_TS = /^(?:(\d{4})-(\d\d)-(\d\d) )?(\d{1,2}):(\d\d):(\d\d)(?:\.(\d{1,10}))? +(.*)$/;
const RE_TS_EPOCH = /^(\d{1,12})\.(\d{1,10}) +(.*)$/;
/** tcpdump's stand-in for a timestamp it cannot format: the packet keeps the previous one's time */
const RE_TS_ERROR = /^\[Error converting time\] +(.*)$/;
/** what follows a timestamp on a packet line: a protocol tcpdump names, possibly after `-i any`'s interface and direction, or -e's MACs */
const RE_PACKET_START = /^(?:\S+ +(?:In|Out|B|M|P|U) +)?(?:IP6? |ARP|IP6?$|\[\||[0-9a-f]{2}(?::[0-9a-f]{2}){5} > )/;

/** true when these first bytes of an input look like tcpdump's text output (a banner or a packet line) */
export function looksLikeTcpdumpText(head: Uint8Array): boolean {
  const n = Math.min(head.length, TEXT_SNIFF_BYTES);
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const c = head[i]!;
    if (c === 0) return false;
    if (c < 9 || (c > 13 && c < 32)) controls++;
  }
  if (controls > n / 100 + 2) return false;
  const text = Buffer.from(head.buffer, head.byteOffset, n).toString('utf8');
  const lines = text.split('\n');
  // the last line may be cut by the sniff window, unless it is the whole input
  const upto = n < head.length ? lines.length - 1 : lines.length;
  for (let i = 0; i < upto; i++) {
    const line = cleanLine(lines[i]!);
    if (RE_BANNER.test(line)) return true;
    const m = RE_TS.exec(line) ?? RE_TS_EPOCH.exec(line) ?? RE_TS_ERROR.exec(line);
    if (m && RE_PACKET_START.test(m[m.length - 1]!)) return true;
  }
  return false;
}

/** a line without its line end, trailing blanks and markdown code fences around it */
function cleanLine(s: string): string {
  let t = s.replace(/[\r\s]+$/, '');
  if (t.startsWith('```')) t = t.replace(/^```\w*/, '');
  if (t.endsWith('```')) t = t.slice(0, -3);
  return t.replace(/^\s*(?:> )?(?=\d)/, '');
}

// ---------------------------------------------------------------------------------------------- reading

/**
 * Read tcpdump text, calling `onFrame` for every packet with a reused Frame (valid during the call only).
 * Same contract as readCapture: streaming, never throws for bad input.
 */
export async function readTcpdumpText(input: CaptureInput, onFrame: (f: Frame) => void, opts: ReadOptions = {}): Promise<CaptureSummary> {
  const file = opts.name ?? (typeof input === 'string' ? input : '-');
  const summary = emptySummary(file);
  let stream: NodeJS.ReadableStream;
  if (typeof input === 'string') stream = input === '-' ? process.stdin : fs.createReadStream(input, { highWaterMark: opts.chunkSize ?? 1 << 20 });
  else if (isNodeStream(input)) stream = input;
  else stream = Readable.from(input as AsyncIterable<Uint8Array>, { objectMode: false });
  let frames = 0;
  /** ARP lines, emitted as Ethernet frames */
  let arp = 0;
  try {
    await readTextLines(stream, summary, (f) => {
      frames++;
      if (f.linkType !== TEXT_LINKTYPE) arp++;
      onFrame(f);
    }, opts);
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    summary.error = e;
  } finally {
    if (typeof input === 'string' && input !== '-') (stream as fs.ReadStream).destroy();
  }
  summary.frames = frames;
  summary.linkTypes = [
    ...(frames - arp > 0 ? [{ linkType: TEXT_LINKTYPE, name: linkTypeName(TEXT_LINKTYPE), frames: frames - arp }] : []),
    ...(arp > 0 ? [{ linkType: LINKTYPE_ETHERNET, name: linkTypeName(LINKTYPE_ETHERNET), frames: arp }] : []),
  ];
  if (!summary.readable && !summary.error) {
    summary.error = new CaptureError({ code: 'bad-magic', file, offset: 0, detail: 'not a capture: no tcpdump banner or packet line found in the text' });
  }
  return summary;
}

function isNodeStream(x: unknown): x is NodeJS.ReadableStream {
  return typeof (x as NodeJS.ReadableStream).pipe === 'function';
}

export function emptySummary(file: string): CaptureSummary {
  return {
    file,
    format: null,
    compression: null,
    byteOrder: null,
    interfaces: [],
    frames: 0,
    linkTypes: [],
    bytes: 0,
    secrets: [],
    error: null,
    readable: false,
  };
}

/**
 * The line loop shared with readCapture (which hands over a stream that starts with the bytes it sniffed).
 * Fills `summary` (format, readable, bytes, interfaces, textLines); frames go to `sink`. An I/O fault
 * becomes summary.error.
 */
export async function readTextLines(stream: NodeJS.ReadableStream, summary: CaptureSummary, sink: (f: Frame) => void, opts: ReadOptions): Promise<void> {
  const parser = new TcpdumpTextParser(sink, opts.date);
  summary.format = 'tcpdump-text';
  summary.textLines = parser.stats;
  const rl = readline.createInterface({ input: stream as NodeJS.ReadableStream, crlfDelay: Infinity });
  let bytes = 0;
  let framesAtYield = 0;
  try {
    for await (const line of rl) {
      parser.line(line, bytes);
      bytes += Buffer.byteLength(line) + 1;
      if (parser.frames - framesAtYield >= 1024) {
        framesAtYield = parser.frames;
        opts.onProgress?.(bytes);
        if (opts.afterChunk) await opts.afterChunk();
      }
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err instanceof CaptureError) throw err;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.code === 'EACCES' ? 'permission denied' : String(err.message ?? e).replace(/\s+/g, ' ');
    summary.error = new CaptureError({ code: err.code?.startsWith('Z_') ? 'gzip' : 'io', file: summary.file, offset: bytes, detail: `cannot read: ${why}` });
  } finally {
    rl.close();
  }
  parser.end();
  summary.bytes = Math.max(bytes - 1, 0);
  summary.readable = parser.stats.parsed > 0 || parser.sawBanner;
  const iface = (id: number, name: string) => ({ id, section: 0, linkType: TEXT_LINKTYPE, snaplen: parser.snaplen, tsresol: 6, tsoffset: 0, fcsLen: 0, ...(name ? { name } : {}) });
  summary.interfaces = parser.anyIfs.size > 1 ? [...parser.anyIfs].map(([name, id]) => iface(id, name)) : [iface(0, parser.ifName)];
  opts.onProgress?.(bytes);
  if (opts.afterChunk) await opts.afterChunk();
}

// ---------------------------------------------------------------------------------------------- headers

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, '.': 0x10, U: 0x20, E: 0x40, W: 0x80, e: 0x100 };

/** One IP header and what it carries, as tcpdump described it. Reused. */
class Hdr {
  v = 0;
  tos = 0;
  ttl = 64;
  id = 0;
  ipFlags = 0; // bit 2 reserved, 1 DF, 0 MF (as in the header's top three bits)
  fragOff = 0;
  proto = -1;
  /** IPv4 total length / IPv6 40 + payload length; -1 unknown */
  totalLen = -1;
  ipCksum = -1;
  flowLabel = 0;
  readonly src = new Uint8Array(16);
  readonly dst = new Uint8Array(16);
  hasAddrs = false;
  // transport
  l4: 'tcp' | 'udp' | 'icmp' | '' = '';
  sport = -1;
  dport = -1;
  tcpFlags = -1;
  seq = -1;
  seqEnd = -1;
  ack = -1;
  win = -1;
  urg = 0;
  cksum = -1;
  /** tcpdump verified the checksum: `(correct)` */
  cksumGood = false;
  /** payload length tcpdump printed (`length N`), -1 when not printed (or cut) */
  printedLen = -1;
  /** TCP options encoded from `options [...]` */
  opts = new Uint8Array(40);
  optLen = 0;
  /** the option list was cut or held options that cannot be encoded */
  optsPartial = false;
  hasOpts = false;
  /** only the ports of the TCP header are known (`[|tcp]`) */
  portsOnly = false;
  /** the transport line was cut before its end */
  cut = false;
  udpLen = -1;
  icmpType = -1;
  icmpCode = 0;
  icmpWord = 0; // bytes 4..7 of the ICMP header (echo id/seq, next-hop MTU)
  /** ICMP error printed without its quote: what the text says of the quoted packet (its version) */
  quoteVersion = 0;
  /** IPv6 neighbor solicitation / advertisement: the address asked for (`who has X`, `tgt is X`) */
  readonly ndTarget = new Uint8Array(16);
  hasNdTarget = false;
  /** offsets in `opts` of SACK options, whose edges tcpdump printed relative */
  readonly sackAt: number[] = [];

  reset(): void {
    this.v = this.tos = this.id = this.ipFlags = this.fragOff = this.flowLabel = 0;
    this.ttl = 64;
    this.proto = this.totalLen = this.ipCksum = -1;
    this.hasAddrs = false;
    this.src.fill(0);
    this.dst.fill(0);
    this.l4 = '';
    this.sport = this.dport = this.tcpFlags = this.seq = this.seqEnd = this.ack = this.win = this.cksum = this.printedLen = -1;
    this.urg = 0;
    this.cksumGood = false;
    this.optLen = 0;
    this.optsPartial = this.hasOpts = this.portsOnly = this.cut = false;
    this.udpLen = this.icmpType = -1;
    this.icmpCode = this.icmpWord = this.quoteVersion = 0;
    this.hasNdTarget = false;
    this.sackAt.length = 0;
  }

  get addrLen(): number {
    return this.v === 6 ? 16 : 4;
  }
}

// ---------------------------------------------------------------------------------------------- sequence numbers

interface DirState {
  base: number;
  baseKnown: boolean;
  /** next sequence number expected (absolute), -1 unknown */
  next: number;
  lastAck: number;
  lastWin: number;
  /** TCP header length of the last whole non-SYN segment, to size cut lines */
  hdrLen: number;
}
interface Conv {
  /** tcpdump's entry exists: set by the first packet with ACK (or any SYN with ACK) */
  hasBase: boolean;
  d: [DirState, DirState];
}

const U32 = 0x1_0000_0000;
const u32 = (x: number) => ((x % U32) + U32) % U32;
function seqDist(a: number, b: number): number {
  const d = u32(a - b);
  return Math.min(d, U32 - d);
}

// ---------------------------------------------------------------------------------------------- parser

const RE_HEX = /^\s*0x([0-9a-f]{4}):\s+(.*)$/;
const RE_BODY = /^\s*(\S+) > (\S+?):(?: +(.*))?$/;
const RE_BODY_NOCOLON = /^\s*(\S+) > (\S+)$/;
const PORT_NAMES: Record<string, number> = {
  'pcsync-https': 8443,
  https: 443,
  http: 80,
  'http-alt': 8080,
  webcache: 8080,
  squid: 3128,
  ssh: 22,
  domain: 53,
  smtp: 25,
  ntp: 123,
  bootps: 67,
  bootpc: 68,
  ldap: 389,
  ldaps: 636,
  mysql: 3306,
  postgresql: 5432,
  telnet: 23,
  ftp: 21,
  snmp: 161,
  syslog: 514,
};

export class TcpdumpTextParser {
  readonly stats: TextLineStats = { parsed: 0, skipped: 0, unrecognizedCount: 0, unrecognized: [] };
  frames = 0;
  snaplen = 0;
  ifName = '';
  /**
   * `-i any`: the interfaces named on packet lines, numbered in order of appearance (the frame's interface
   * id, as a pcapng interface's): the same packet seen on two of them is a copy the capture made
   */
  readonly anyIfs = new Map<string, number>();
  sawBanner = false;

  private readonly frame = new Frame();
  private readonly out = new Uint8Array(65536 + 128);
  private readonly outView = new DataView(this.out.buffer);
  private readonly hdr = new Hdr();
  private readonly quoted = new Hdr();
  private readonly hex = new Uint8Array(65536 + 128);
  private hexLen = 0;
  private hexNext = 0;
  /** a packet is open: its header line was read, it is emitted at the next packet line or the end */
  private open = false;
  /** what the next line may continue: the IPv4 -v header's body, the quote's IP header, the quote's body */
  private expect: 'body' | 'quote-ip' | 'quote-body' | 'after' = 'after';
  /** the open packet is not IP (or its IP header is not understood): a frame without bytes, unless a hex dump follows */
  private nonIp = false;
  /** an ARP line: 1 request, 2 reply (0: none); its addresses are in arpAddrs (sender, target) */
  private arpOp = 0;
  private readonly arpAddrs = new Uint8Array(8);
  private lineNo = 0;
  private tsSec = 0;
  private tsNsec = 0;
  private lastDaySec = -1;
  private dayBase = 0;
  private dayOffset = 0;
  /** -S: numbers printed absolute; null until the numbers tell */
  private absolute: boolean | null = null;
  private readonly convs = new Map<string, Conv>();

  constructor(
    private readonly sink: (f: Frame) => void,
    date?: string,
  ) {
    if (date) {
      const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(date);
      if (m) this.dayBase = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!) / 1000;
    }
    this.frame.linkType = TEXT_LINKTYPE;
    this.frame.fcsLen = 0;
    this.frame.hasTime = true;
    this.frame.buf = this.out;
    this.frame.view = this.outView;
  }

  // ---- line classification

  line(raw: string, fileOffset: number): void {
    this.lineNo++;
    const line = cleanLine(raw);
    if (line.trim() === '') return this.skip();
    const ts = RE_TS.exec(line);
    if (ts) {
      const rest = ts[8]!;
      if (this.isPacketLine(rest)) {
        this.flush();
        this.setTime(ts);
        return this.packetLine(rest, fileOffset);
      }
    } else {
      const ep = RE_TS_EPOCH.exec(line);
      if (ep && this.isPacketLine(ep[3]!)) {
        this.flush();
        this.tsSec = Number(ep[1]);
        this.tsNsec = Number(ep[2]!.padEnd(9, '0').slice(0, 9));
        return this.packetLine(ep[3]!, fileOffset);
      }
      const er = RE_TS_ERROR.exec(line);
      if (er && this.isPacketLine(er[1]!)) {
        this.flush();
        return this.packetLine(er[1]!, fileOffset);
      }
    }
    if (this.banner(line)) return;
    const hex = RE_HEX.exec(line);
    if (hex && this.open) return this.hexLine(Number.parseInt(hex[1]!, 16), hex[2]!);
    if (this.open && this.expect === 'body') {
      if (this.body(this.hdr, line)) {
        this.expect = this.hdr.l4 === 'icmp' && isIcmpError(this.hdr) ? 'quote-ip' : 'after';
        this.stats.parsed++;
        return;
      }
    }
    if (this.open && this.expect === 'quote-ip') {
      const m = /^\s*IP6? /.exec(line);
      if (m && this.ipHeader(this.quoted, line.trim(), true)) {
        this.stats.parsed++;
        return;
      }
    }
    if (this.open && this.expect === 'quote-body' && this.body(this.quoted, line)) {
      this.expect = 'after';
      this.stats.parsed++;
      return;
    }
    if (this.open && this.expect === 'after' && this.carriesPayload()) {
      // what tcpdump prints of the payload (HTTP, SMTP, -A text, protocol details on their own lines)
      if (/^\s/.test(raw) || raw.startsWith('\t')) return this.skip();
    }
    if (this.open && /^\s/.test(raw)) {
      // an indented line tcpdump prints under a packet of a protocol it dissects (DNS, DHCP, MPLS...)
      return this.skip();
    }
    if (/^\s*(?:\d+ packets? (?:captured|received by filter|dropped by kernel))|^\S*[#$>] *tcpdump |^tcpdump /.test(line)) return this.skip();
    this.unrecognized(raw);
  }

  private isPacketLine(rest: string): boolean {
    return RE_PACKET_START.test(rest) || /^[A-Za-z][\w./-]*(?: |,|$)|^ ?\[\|/.test(rest);
  }

  private skip(): void {
    this.stats.skipped++;
  }

  private unrecognized(raw: string): void {
    this.stats.unrecognizedCount++;
    if (this.stats.unrecognized.length < MAX_UNRECOGNIZED) this.stats.unrecognized.push({ line: this.lineNo, text: raw.length > 200 ? raw.slice(0, 200) + '...' : raw });
  }

  private banner(line: string): boolean {
    const listening = /^(?:tcpdump: )?listening on (\S+), link-type (\S+)(?: \([^)]*\))?, (?:capture size|snapshot length) (\d+)/.exec(line);
    const reading = /^reading from file .*, link-type (\S+)(?: \(.*\))?(?:, snapshot length (\d+))?/.exec(line);
    if (listening) {
      this.ifName = listening[1]!;
      this.snaplen = Number(listening[3]);
    } else if (reading) {
      if (reading[2]) this.snaplen = Number(reading[2]);
    } else if (!/^tcpdump: /.test(line) && !/^(?:listening on|WARNING: |Warning: )/.test(line)) return false;
    this.sawBanner = true;
    this.skip();
    return true;
  }

  private setTime(m: RegExpExecArray): void {
    const daySec = Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]);
    this.tsNsec = m[7] ? Number(m[7].padEnd(9, '0').slice(0, 9)) : 0;
    if (m[1]) {
      this.tsSec = Date.UTC(+m[1], +m[2]! - 1, +m[3]!) / 1000 + daySec;
      return;
    }
    // a time of day only: the day is --date's (or 1970-01-01); midnight passing moves to the next day
    if (this.lastDaySec >= 0 && daySec + 12 * 3600 < this.lastDaySec) this.dayOffset += 86400;
    this.lastDaySec = daySec;
    this.tsSec = this.dayBase + this.dayOffset + daySec;
  }

  // ---- the packet line

  private packetLine(restIn: string, fileOffset: number): void {
    const h = this.hdr;
    h.reset();
    this.quoted.reset();
    this.hexLen = 0;
    this.hexNext = 0;
    this.open = true;
    this.nonIp = false;
    this.arpOp = 0;
    this.expect = 'after';
    this.frame.fileOffset = fileOffset;
    let rest = restIn;
    // -i any: interface and direction
    const any = /^(\S+) +(?:In|Out|B|M|P|U) +(.*)$/.exec(rest);
    this.frame.interfaceId = 0;
    if (any && !/^IP6?$/.test(any[1]!)) {
      rest = any[2]!;
      let id = this.anyIfs.get(any[1]!);
      if (id === undefined && this.anyIfs.size < 4096) this.anyIfs.set(any[1]!, (id = this.anyIfs.size));
      this.frame.interfaceId = id ?? 0;
    }
    // -e: link-layer addresses, ethertype (and VLAN tags) before the IP part
    let ethV = 0;
    const eth = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5} > [0-9a-f]{2}(?::[0-9a-f]{2}){5}, (.*)$/.exec(rest);
    if (eth) {
      rest = eth[1]!;
      for (;;) {
        const e = /^(?:ethertype )?(\S+) \(0x([0-9a-f]{4})\), length \d+: (?:vlan \d+, p \d+, )?(.*)$/.exec(rest);
        if (!e) break;
        const type = Number.parseInt(e[2]!, 16);
        rest = e[3]!;
        if (type === 0x0800) ethV = 4;
        else if (type === 0x86dd) ethV = 6;
        else if (type !== 0x8100 && type !== 0x88a8) break;
        if (ethV) break;
      }
      if (ethV && !/^IP6? /.test(rest)) rest = (ethV === 6 ? 'IP6 ' : 'IP ') + rest;
    }
    if (!/^IP6? /.test(rest) || !this.ipHeader(h, rest, false)) {
      // a protocol other than IP (ARP, STP...) or an IP line tcpdump could not dissect
      this.nonIp = true;
      // ARP over Ethernet for IPv4: who asked for which address, and who answered (unanswered resolution is a finding)
      const arp = /^ARP, (?:Ethernet \(len 6\), IPv4 \(len 4\), )?(?:Request who-has (\S+?)(?: \([0-9a-f:]+\))? tell (\S+?),|Reply (\S+?) is-at )/.exec(rest);
      if (arp) {
        this.arpAddrs.fill(0);
        const ok = arp[1] !== undefined ? parseIPv4(arp[2]!, this.arpAddrs, 0) && parseIPv4(arp[1], this.arpAddrs, 4) : parseIPv4(arp[3]!, this.arpAddrs, 0);
        if (ok) this.arpOp = arp[1] !== undefined ? 1 : 2;
      }
      const len = /, length (\d+)/.exec(rest);
      h.totalLen = len ? Number(len[1]) : 0;
      this.skip();
      return;
    }
    this.stats.parsed++;
  }

  /** `IP (tos ...) [body]` or `IP6 (...) body` or `IP body`; fills h, and the body when it is on this line */
  private ipHeader(h: Hdr, text: string, quote: boolean): boolean {
    h.v = text.startsWith('IP6') ? 6 : 4;
    let rest = text.slice(h.v === 6 ? 4 : 3);
    if (/^truncated-ip|^bad-len/.test(rest)) return false;
    let cutHeader = false;
    if (rest.startsWith('(')) {
      // the parenthesised header fields, with nested parentheses
      let depth = 0;
      let end = -1;
      for (let i = 0; i < rest.length; i++) {
        const c = rest[i];
        if (c === '(') depth++;
        else if (c === ')' && --depth === 0) {
          end = i;
          break;
        }
      }
      const inner = end < 0 ? rest.slice(1) : rest.slice(1, end);
      cutHeader = end < 0;
      this.ipFields(h, inner, cutHeader);
      rest = end < 0 ? '' : rest.slice(end + 1).trim();
    }
    if (quote) this.expect = 'quote-body';
    else this.expect = 'body';
    if (rest !== '' && !cutHeader) {
      if (!this.body(h, rest)) return h.v === 6 || false;
      this.expect = quote ? 'after' : h.l4 === 'icmp' && isIcmpError(h) ? 'quote-ip' : 'after';
    }
    return true;
  }

  private ipFields(h: Hdr, s: string, cut: boolean): void {
    const num = (re: RegExp): number => {
      const m = re.exec(s);
      if (!m) return -1;
      if (cut && m.index + m[0].length >= s.length) return -1; // a number ending a cut line may be cut itself
      return m[1]!.startsWith('0x') ? Number.parseInt(m[1]!.slice(2), 16) : Number(m[1]);
    };
    if (h.v === 4) {
      const tos = num(/\btos (0x[0-9a-f]+)/);
      if (tos >= 0) h.tos = tos;
      // tcpdump leaves out `ttl 0`
      const ttl = num(/\bttl (\d+)/);
      h.ttl = ttl >= 0 ? ttl : cut ? 64 : 0;
      const id = num(/\bid (\d+)/);
      if (id >= 0) h.id = id;
      const off = num(/\boffset (\d+)/);
      if (off >= 0) h.fragOff = off;
      const fl = /\bflags \[([^\]]*)\]/.exec(s);
      if (fl) h.ipFlags = (fl[1]!.includes('rsvd') ? 4 : 0) | (fl[1]!.includes('DF') ? 2 : 0) | (fl[1]!.includes('+') ? 1 : 0);
      const proto = num(/\bproto [^(,]*\((\d+)\)/);
      if (proto >= 0) h.proto = proto;
      const len = num(/\blength (\d+)/);
      if (len >= 0) h.totalLen = len;
      const bad = num(/\bbad cksum (?:0x)?([0-9a-f]+)/);
      if (bad >= 0) h.ipCksum = Number.parseInt(/\bbad cksum (?:0x)?([0-9a-f]+)/.exec(s)![1]!, 16);
    } else {
      const cls = num(/\bclass (0x[0-9a-f]+)/);
      if (cls >= 0) h.tos = cls;
      const fl = num(/\bflowlabel (0x[0-9a-f]+)/);
      if (fl >= 0) h.flowLabel = fl;
      const hlim = num(/\bhlim (\d+)/);
      if (hlim >= 0) h.ttl = hlim;
      const nh = num(/\bnext-header [^(,]*\((\d+)\)/);
      if (nh >= 0) h.proto = nh;
      const pl = num(/\bpayload length: (\d+)/);
      if (pl >= 0) h.totalLen = 40 + pl;
    }
  }

  // ---- the `src > dst: ...` part

  private body(h: Hdr, lineIn: string): boolean {
    let line = lineIn;
    let m = RE_BODY.exec(line);
    if (!m) {
      // a line cut right after the addresses
      const n = RE_BODY_NOCOLON.exec(line);
      if (!n) return false;
      m = n;
      line = '';
    }
    const rest = m[3] ?? '';
    const proto = h.proto >= 0 ? h.proto : /^Flags \[|^\[\|tcp\]/.test(rest) ? 6 : /^ICMP6?\b|^\[(?:bad )?icmp6? /.test(rest) ? (h.v === 6 ? 58 : 1) : -1;
    const withPorts = proto === 6 || proto === 17 || (proto === -1 && !/^ICMP/.test(rest));
    if (!this.addrPort(h, m[1]!, true, withPorts) || !this.addrPort(h, m[2]!, false, withPorts)) return false;
    h.hasAddrs = true;
    if (proto === 6) {
      h.proto = 6;
      h.l4 = 'tcp';
      this.tcpBody(h, rest);
    } else if (proto === 1 || proto === 58) {
      h.proto = proto;
      h.l4 = 'icmp';
      this.icmpBody(h, rest);
    } else if (proto === 17 || (proto === -1 && h.sport >= 0)) {
      h.proto = 17;
      h.l4 = 'udp';
      const ck = /\[bad udp cksum 0x([0-9a-f]{4})/.exec(rest);
      if (ck) h.cksum = Number.parseInt(ck[1]!, 16);
      const ulen = /\bUDP, length (\d+)/.exec(rest);
      if (ulen) h.printedLen = Number(ulen[1]);
    }
    return true;
  }

  private addrPort(h: Hdr, s: string, isSrc: boolean, withPort: boolean): boolean {
    let addr = s;
    let port = -1;
    if (withPort) {
      const dot = s.lastIndexOf('.');
      const isV4Only = /^\d+\.\d+\.\d+\.\d+$/.test(s);
      if (dot > 0 && !isV4Only) {
        const p = s.slice(dot + 1);
        const n = /^\d+$/.test(p) ? Number(p) : PORT_NAMES[p];
        if (n !== undefined && n <= 65535) {
          port = n;
          addr = s.slice(0, dot);
        }
      }
    }
    const into = isSrc ? h.src : h.dst;
    if (h.v === 4) {
      if (!parseIPv4(addr, into, 0)) return false;
    } else if (!parseIPv6(addr, into)) return false;
    if (isSrc) h.sport = port;
    else h.dport = port;
    return true;
  }

  private tcpBody(h: Hdr, restIn: string): void {
    let rest = restIn;
    if (/^\[\|tcp\]/.test(rest) || /\[\|tcp\]/.test(rest.slice(0, 40))) {
      h.portsOnly = true;
      return;
    }
    // the option list first: it holds commas
    const o = rest.indexOf('options [');
    let optText = '';
    if (o >= 0) {
      const close = rest.indexOf(']', o);
      h.hasOpts = true;
      if (close < 0) {
        optText = rest.slice(o + 9);
        h.optsPartial = true; // cut inside the list: its last item is dropped below
        rest = rest.slice(0, o);
        h.cut = true;
      } else {
        optText = rest.slice(o + 9, close);
        rest = rest.slice(0, o) + rest.slice(close + 1);
      }
    }
    // complete lines say `length N` after the flags; without it the line was cut, and a number ending it may be too
    const lenM = /, length (\d+)/.exec(rest);
    if (!lenM) h.cut = true;
    const trimmed = rest.replace(/\s+$/, '');
    const num = (re: RegExp): RegExpExecArray | null => {
      const m = re.exec(rest);
      if (!m) return null;
      if (h.cut && m.index + m[0].length >= trimmed.length) return null;
      return m;
    };
    const fl = /^Flags \[([^\]]*)\]/.exec(rest);
    if (fl) {
      let bits = 0;
      if (fl[1] !== 'none') for (const c of fl[1]!) bits |= FLAG_BITS[c] ?? 0;
      h.tcpFlags = bits;
    }
    const ck = /\bcksum 0x([0-9a-f]{4})\b/.exec(rest);
    if (ck && !(h.cut && ck.index + ck[0].length >= trimmed.length)) {
      h.cksum = Number.parseInt(ck[1]!, 16);
      h.cksumGood = rest.startsWith(' (correct)', ck.index + ck[0].length);
    }
    const seq = num(/, seq (\d+)(?::(\d+))?(?=,|$|\s)/);
    if (seq) {
      h.seq = Number(seq[1]);
      if (seq[2] !== undefined) h.seqEnd = Number(seq[2]);
    } else {
      // `seq 1:173` cut after the colon or inside the second number: the first one stands
      const s2 = /, seq (\d+):\d*$/.exec(trimmed);
      if (s2) h.seq = Number(s2[1]);
    }
    const ack = num(/, ack (\d+)(?=,|$|\s)/);
    if (ack) h.ack = Number(ack[1]);
    const win = num(/, win (\d+)(?=,|$|\s)/);
    if (win) h.win = Number(win[1]);
    const urg = num(/, urg (\d+)(?=,|$|\s)/);
    if (urg) h.urg = Number(urg[1]);
    if (lenM) h.printedLen = Number(lenM[1]);
    if (optText) this.tcpOptions(h, optText);
  }

  private tcpOptions(h: Hdr, text: string): void {
    const items = text.split(',');
    if (h.optsPartial) items.pop(); // the item the cut went through
    const b = h.opts;
    let n = 0;
    const put = (...xs: number[]): boolean => {
      if (n + xs.length > 40) {
        h.optsPartial = true;
        return false;
      }
      for (const x of xs) b[n++] = x & 0xff;
      return true;
    };
    const u32be = (x: number) => [(x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
    for (const raw of items) {
      const it = raw.trim();
      let m: RegExpExecArray | null;
      if (it === 'nop') put(1);
      else if (it === 'eol') put(0);
      else if (it === 'sackOK') put(4, 2);
      else if ((m = /^mss (\d+)$/.exec(it))) put(2, 4, Number(m[1]) >> 8, Number(m[1]));
      else if ((m = /^wscale (\d+)$/.exec(it))) put(3, 3, Number(m[1]));
      else if ((m = /^TS val (\d+) ecr (\d+)$/.exec(it))) put(8, 10, ...u32be(Number(m[1])), ...u32be(Number(m[2])));
      else if ((m = /^sack (\d+) ((?:\{\d+:\d+\})*)$/.exec(it))) {
        const blocks = [...m[2]!.matchAll(/\{(\d+):(\d+)\}/g)];
        const bytes: number[] = [5, 2 + 8 * blocks.length];
        // the edges: relative to the peer's sequence base unless -S; fixed up in emit (see sackAt)
        for (const bl of blocks) bytes.push(...u32be(Number(bl[1])), ...u32be(Number(bl[2])));
        if (put(...bytes)) h.sackAt.push(n - bytes.length);
      } else if (it === 'tfo cookiereq') put(34, 2);
      else if ((m = /^tfo cookie ([0-9a-f]+)$/.exec(it)) && m[1]!.length % 2 === 0) put(34, 2 + m[1]!.length / 2, ...hexBytes(m[1]!));
      else if ((m = /^unknown-(\d+)(?: 0x([0-9a-f]*))?$/.exec(it)) && (m[2] ?? '').length % 2 === 0) put(Number(m[1]), 2 + (m[2] ?? '').length / 2, ...hexBytes(m[2] ?? ''));
      else h.optsPartial = true; // mptcp, md5, uto, tcp-ao...: their bytes are not all printed
    }
    h.optLen = n;
  }

  private icmpBody(h: Hdr, restIn: string): void {
    const rest = restIn.replace(/^\[(?:icmp6? sum ok|bad icmp6? cksum [^\]]*)\] */, '');
    const bad = /\[bad icmp6? cksum 0x([0-9a-f]{4})/.exec(restIn) ?? /wrong icmp cksum ([0-9a-f]{1,4})/.exec(restIn);
    if (bad) h.cksum = Number.parseInt(bad[1]!, 16);
    if (h.v === 4) icmp4Type(h, rest);
    else icmp6Type(h, rest);
    const len = /, length (\d+)$/.exec(rest);
    if (len) h.printedLen = Number(len[1]);
  }

  private hexLine(offset: number, text: string): void {
    if (offset === 0) this.hexLen = 0;
    else if (offset !== this.hexNext) return; // a gap (a lost line): the dump ends before it
    // groups of 2 or 4 hex digits separated by one space; two spaces start the ASCII column
    let i = 0;
    let got = 0;
    while (i < text.length) {
      const g = /^([0-9a-f]{2}|[0-9a-f]{4})(?: |$)/.exec(text.slice(i, i + 5));
      if (!g) break;
      const hx = g[1]!;
      if (this.hexLen + hx.length / 2 > this.hex.length) break;
      for (let k = 0; k < hx.length; k += 2) this.hex[this.hexLen++] = Number.parseInt(hx.slice(k, k + 2), 16);
      got += hx.length / 2;
      i += g[0].length;
      if (text[i] === ' ') break;
    }
    this.hexNext = offset + got;
    this.skipHex();
  }

  private skipHex(): void {
    this.stats.parsed++;
  }

  private carriesPayload(): boolean {
    const h = this.hdr;
    return this.nonIp || h.l4 !== 'tcp' || h.printedLen !== 0 || (h.totalLen > 0 && h.seqEnd > h.seq);
  }

  // ---- emitting a frame

  /** emit the open packet, if any */
  flush(): void {
    if (!this.open) return;
    this.open = false;
    const f = this.frame;
    f.number = ++this.frames;
    f.tsSec = this.tsSec;
    f.tsNsec = this.tsNsec;
    f.snaplen = this.snaplen;
    f.offset = 0;
    const h = this.hdr;
    let len = 0;
    if (!this.nonIp) {
      len = this.build(h, 0, false);
    }
    const wire = this.nonIp ? h.totalLen : h.totalLen >= 0 ? h.totalLen : len;
    // a hex dump holds the packet's real bytes: use them where it starts at (or holds) this IP header
    if (this.hexLen > 0) {
      const at = this.nonIp ? this.hexIpStart() : this.hexFind(len);
      if (at >= 0) {
        this.out.set(this.hex.subarray(at, this.hexLen), 0);
        len = this.hexLen - at;
        if (len >= 20 && this.nonIp) {
          const v = this.out[0]! >> 4;
          h.totalLen = v === 4 ? (this.out[2]! << 8) | this.out[3]! : v === 6 ? 40 + ((this.out[4]! << 8) | this.out[5]!) : len;
        }
      }
    }
    f.capLen = len;
    f.origLen = Math.max(this.nonIp ? h.totalLen : wire, len);
    if (this.arpOp && this.hexLen === 0) {
      // an ARP frame on Ethernet (the only frames of the text that are not raw IP): broadcast header, then
      // the 28-byte ARP body with the addresses tcpdump printed (hardware addresses unknown: zero)
      const b = this.out;
      b.fill(0, 0, 42);
      b.fill(0xff, 0, 6);
      b[12] = 0x08;
      b[13] = 0x06;
      b[15] = 1; // htype Ethernet
      b[16] = 0x08; // ptype IPv4
      b[18] = 6;
      b[19] = 4;
      b[21] = this.arpOp;
      b.set(this.arpAddrs.subarray(0, 4), 28);
      b.set(this.arpAddrs.subarray(4, 8), 38);
      f.linkType = LINKTYPE_ETHERNET;
      f.capLen = f.origLen = 42;
      this.sink(f);
      f.linkType = TEXT_LINKTYPE;
      return;
    }
    this.sink(f);
  }


  end(): void {
    this.flush();
  }

  /** where in the hex dump the IP header starts (0 for -X, after the link header for -XX), or -1 */
  private hexFind(synthLen: number): number {
    const h = this.hdr;
    const srcAt = h.v === 4 ? 12 : 8;
    for (const skip of [0, 14, 16, 20, 4, 18, 22]) {
      if (this.hexLen < skip + srcAt + 2 * h.addrLen) continue;
      if (this.hex[skip]! >> 4 !== h.v) continue;
      let same = true;
      for (let i = 0; i < h.addrLen && same; i++) same = this.hex[skip + srcAt + i] === this.out[srcAt + i];
      if (same) return this.hexLen - skip >= Math.min(synthLen, 20) ? skip : -1;
    }
    return -1;
  }

  private hexIpStart(): number {
    for (const skip of [0, 14, 16, 20, 4]) {
      const v = this.hex[skip]! >> 4;
      if (this.hexLen >= skip + 20 && ((v === 4 && (this.hex[skip]! & 15) >= 5) || v === 6)) return skip;
    }
    return -1;
  }

  /**
   * Write the IP header and what follows at `at`; returns the bytes written. Sets h.totalLen when the text
   * did not give it. `inQuote`: the packet an ICMP error quotes (its transport header only as far as printed).
   */
  private build(h: Hdr, at: number, inQuote: boolean): number {
    const b = this.out;
    const ipHl = h.v === 6 ? 40 : 20;
    const ipPayload = h.totalLen >= 0 ? h.totalLen - ipHl : -1;
    let o = at + ipHl;
    let l4Wire = -1; // bytes of the transport segment on the wire, when the text tells
    if (h.l4 === 'tcp') {
      const r = this.buildTcp(h, o, ipPayload, inQuote);
      o += r.written;
      l4Wire = r.wire;
    } else if (h.l4 === 'udp' && h.sport >= 0) {
      const ulen = ipPayload >= 0 ? ipPayload : h.printedLen >= 0 ? h.printedLen + 8 : 8;
      b[o] = h.sport >> 8;
      b[o + 1] = h.sport;
      b[o + 2] = h.dport >> 8;
      b[o + 3] = h.dport;
      b[o + 4] = ulen >> 8;
      b[o + 5] = ulen;
      const ck = h.cksum >= 0 ? h.cksum : 0;
      b[o + 6] = ck >> 8;
      b[o + 7] = ck;
      o += 8;
      l4Wire = ulen;
    } else if (h.l4 === 'icmp' && h.icmpType >= 0) {
      b[o] = h.icmpType;
      b[o + 1] = h.icmpCode;
      const ck = h.cksum >= 0 ? h.cksum : 0;
      b[o + 2] = ck >> 8;
      b[o + 3] = ck;
      this.outView.setUint32(o + 4, h.icmpWord >>> 0, false);
      o += 8;
      if (h.hasNdTarget) {
        b.set(h.ndTarget, o);
        o += 16;
      }
      if (!inQuote && isIcmpError(h)) {
        if (this.quoted.hasAddrs) o += this.build(this.quoted, o, true);
        else if (h.quoteVersion) b[o++] = h.quoteVersion === 6 ? 0x60 : 0x45; // only the version of the quote is known
      }
      l4Wire = h.printedLen >= 0 ? h.printedLen : -1;
    }
    if (h.totalLen < 0) h.totalLen = l4Wire >= 0 ? ipHl + l4Wire : o - at;
    // the IP header
    const v = this.outView;
    if (h.v === 4) {
      b[at] = 0x45;
      b[at + 1] = h.tos;
      v.setUint16(at + 2, h.totalLen & 0xffff, false);
      v.setUint16(at + 4, h.id & 0xffff, false);
      v.setUint16(at + 6, ((h.ipFlags & 7) << 13) | ((h.fragOff >> 3) & 0x1fff), false);
      b[at + 8] = h.ttl;
      b[at + 9] = h.proto >= 0 ? h.proto : 255;
      v.setUint16(at + 10, 0, false);
      b.set(h.src.subarray(0, 4), at + 12);
      b.set(h.dst.subarray(0, 4), at + 16);
      v.setUint16(at + 10, h.ipCksum >= 0 ? h.ipCksum : ~sum16(b, at, 20) & 0xffff, false);
    } else {
      v.setUint32(at, ((6 << 28) | ((h.tos & 0xff) << 20) | (h.flowLabel & 0xfffff)) >>> 0, false);
      v.setUint16(at + 4, (h.totalLen - 40) & 0xffff, false);
      b[at + 6] = h.proto >= 0 ? h.proto : 59;
      b[at + 7] = h.ttl;
      b.set(h.src, at + 8);
      b.set(h.dst, at + 24);
    }
    if (!inQuote && h.l4 === 'tcp' && (h.cksum < 0 || h.cksumGood) && !h.portsOnly && h.sport >= 0 && o - at >= h.totalLen) {
      // not printed (no -v, or the line was cut), or printed `(correct)` of bytes a cut line did not all show:
      // the whole segment is here, so write the checksum it must have (the same value when nothing was cut)
      const tcpOff = at + ipHl;
      const segLen = h.totalLen - ipHl;
      v.setUint16(tcpOff + 16, 0, false);
      const s = pseudoSum(h, b, at, segLen) + sum16(b, tcpOff, segLen);
      v.setUint16(tcpOff + 16, ~fold(s) & 0xffff, false);
    }
    return o - at;
  }

  private buildTcp(h: Hdr, o: number, ipPayload: number, inQuote: boolean): { written: number; wire: number } {
    const b = this.out;
    const v = this.outView;
    if (h.sport < 0 || h.dport < 0) return { written: 0, wire: ipPayload }; // `a > b: [|tcp]`: not even the ports
    v.setUint16(o, h.sport, false);
    v.setUint16(o + 2, h.dport, false);
    if (h.portsOnly) return { written: 4, wire: ipPayload };
    const conv = this.conv(h);
    const dir = this.dirOf(h);
    const me = conv.d[dir];
    const peer = conv.d[1 - dir]!;
    const flags = h.tcpFlags >= 0 ? h.tcpFlags : 0x10;
    const ackSet = (flags & 0x10) !== 0;
    const syn = (flags & 0x02) !== 0;

    // header length: the options printed, or what the IP length and the printed payload length leave
    const encoded = 20 + h.optLen;
    let hl = (encoded + 3) & ~3;
    const dirHl = me.hdrLen;
    if (ipPayload >= 0) {
      if (h.printedLen >= 0 && !h.cut) {
        const derived = ipPayload - h.printedLen;
        if (derived >= hl && derived <= 60 && derived % 4 === 0 && (h.optsPartial || derived === hl)) hl = derived;
      } else if (h.cut && !inQuote) {
        // the line ends before its options and length: a SYN carries no data; others keep their direction's header length
        if (syn) hl = Math.max(hl, Math.min(60, ipPayload & ~3));
        else if (dirHl > hl && dirHl <= ipPayload) hl = dirHl;
      }
      if (hl > ipPayload && ipPayload >= 20) hl = ipPayload & ~3;
    }
    const payload = ipPayload >= 0 ? Math.max(0, ipPayload - hl) : h.printedLen >= 0 ? h.printedLen : h.seqEnd > h.seq && h.seq >= 0 ? h.seqEnd - h.seq : 0;

    // sequence numbers: tcpdump's relative numbering undone
    let seq = h.seq;
    let ack = h.ack;
    if (ackSet && (!conv.hasBase || syn) && !(this.absolute === true)) {
      // the packet that (re)starts tcpdump's numbering is printed absolute
      conv.hasBase = true;
      if (seq >= 0) {
        me.base = seq;
        me.baseKnown = true;
      } else me.baseKnown = false;
      if (ack >= 0) {
        peer.base = u32(ack - 1);
        peer.baseKnown = true;
      } else peer.baseKnown = false;
    } else if (ackSet && this.absolute !== true) {
      // -S or not, told by a number near its base (absolute) or near zero (relative), once a base is large enough to tell
      const tell = (printed: number, d: DirState) => {
        if (this.absolute !== null || printed < 0 || !d.baseKnown || d.base < 1 << 24) return;
        const distAbs = seqDist(printed, d.base);
        if (distAbs < 1 << 22 && printed >= 1 << 24) this.absolute = true;
        else if (printed < 1 << 22 && distAbs >= 1 << 24) this.absolute = false;
      };
      tell(seq, me);
      tell(ack, peer);
      if (!this.isAbsolute()) {
        if (seq >= 0) seq = u32(seq + me.base);
        if (ack >= 0) ack = u32(ack + peer.base);
      }
    }
    if (seq < 0) seq = me.next >= 0 ? me.next : u32(me.base + (syn ? 0 : 1));
    if (ack < 0) ack = ackSet ? (me.lastAck >= 0 ? me.lastAck : peer.next >= 0 ? peer.next : 0) : 0;

    v.setUint32(o + 4, seq >>> 0, false);
    v.setUint32(o + 8, ack >>> 0, false);
    v.setUint16(o + 12, ((hl / 4) << 12) | (flags & 0x1ff), false);
    // a window the line does not show (cut): the direction's last one, never a made-up zero window
    const win = h.win >= 0 ? h.win : me.lastWin >= 0 ? me.lastWin : 0xffff;
    if (h.win >= 0) me.lastWin = h.win;
    v.setUint16(o + 14, win, false);
    v.setUint16(o + 16, h.cksum >= 0 ? h.cksum : 0, false);
    v.setUint16(o + 18, h.urg & 0xffff, false);
    const optRoom = hl - 20;
    b.set(h.opts.subarray(0, Math.min(h.optLen, optRoom)), o + 20);
    b.fill(0, o + 20 + Math.min(h.optLen, optRoom), o + hl);
    // SACK edges are printed relative to the peer's base (tcpdump's thack/thseq) unless -S
    if (this.absolute !== true && conv.hasBase) {
      for (const s of h.sackAt) {
        if (s + 2 > optRoom) continue;
        const n = (h.opts[s + 1]! - 2) >> 3;
        for (let i = 0; i < 2 * n; i++) {
          const p = o + 20 + s + 2 + 4 * i;
          v.setUint32(p, u32(v.getUint32(p, false) + peer.base), false);
        }
      }
    }
    // remember this segment in its direction, for lines that do not print all numbers
    const seqAdv = payload + (syn ? 1 : 0) + (flags & 1 ? 1 : 0);
    const end = u32(seq + seqAdv);
    if (me.next < 0 || u32(end - me.next) < 1 << 31) me.next = end;
    if (ackSet) me.lastAck = ack;
    if (!syn && !h.cut && !h.optsPartial) me.hdrLen = hl;
    if (!me.baseKnown && !conv.hasBase && syn) {
      me.base = seq;
      me.baseKnown = true;
    }
    return { written: inQuote ? Math.min(hl, ipPayload >= 0 ? ipPayload : hl) : hl, wire: hl + payload };
  }

  /** -S output (decided by `tell` in buildTcp, which the compiler cannot follow) */
  private isAbsolute(): boolean {
    return this.absolute === true;
  }

  private dirOf(h: Hdr): 0 | 1 {
    const n = h.addrLen;
    for (let i = 0; i < n; i++) {
      if (h.src[i] !== h.dst[i]) return h.src[i]! < h.dst[i]! ? 0 : 1;
    }
    return h.sport <= h.dport ? 0 : 1;
  }

  private conv(h: Hdr): Conv {
    const n = h.addrLen;
    const a = Buffer.from(h.src.buffer, 0, n).toString('hex');
    const z = Buffer.from(h.dst.buffer, 0, n).toString('hex');
    const key = this.dirOf(h) === 0 ? `${a}.${h.sport}-${z}.${h.dport}` : `${z}.${h.dport}-${a}.${h.sport}`;
    let c = this.convs.get(key);
    if (!c) {
      if (this.convs.size >= 100_000) this.convs.delete(this.convs.keys().next().value!);
      const d = (): DirState => ({ base: 0, baseKnown: false, next: -1, lastAck: -1, lastWin: -1, hdrLen: 20 });
      c = { hasBase: false, d: [d(), d()] };
      this.convs.set(key, c);
    }
    return c;
  }
}

// ---------------------------------------------------------------------------------------------- ICMP

function isIcmpError(h: Hdr): boolean {
  const t = h.icmpType;
  return h.v === 6 ? t >= 1 && t <= 4 : t === 3 || t === 4 || t === 5 || t === 11 || t === 12;
}

const ICMP4_UNREACH: [RegExp, number][] = [
  [/^ICMP \S+ (?:tcp|udp|sctp) port \S+ unreachable/, 3],
  [/^ICMP \S+ protocol \d+ unreachable/, 2],
  [/unreachable - need to frag/, 4],
  [/unreachable - source route failed/, 5],
  [/^ICMP net \S+ unreachable - unknown/, 6],
  [/^ICMP host \S+ unreachable - unknown/, 7],
  [/unreachable - source host isolated/, 8],
  [/^ICMP net \S+ unreachable - admin prohibited/, 9],
  [/^ICMP host \S+ unreachable - admin prohibited filter/, 13],
  [/^ICMP host \S+ unreachable - admin prohibited/, 10],
  [/^ICMP net \S+ unreachable - tos prohibited/, 11],
  [/^ICMP host \S+ unreachable - tos prohibited/, 12],
  [/precedence violation/, 14],
  [/precedence cutoff/, 15],
  [/^ICMP net \S+ unreachable/, 0],
  [/^ICMP host \S+ unreachable/, 1],
];

function icmp4Type(h: Hdr, rest: string): void {
  let m: RegExpExecArray | null;
  if ((m = /^ICMP echo (request|reply), id (\d+), seq (\d+)/.exec(rest))) {
    h.icmpType = m[1] === 'request' ? 8 : 0;
    h.icmpWord = ((Number(m[2]) & 0xffff) << 16) | (Number(m[3]) & 0xffff);
    return;
  }
  if (/^ICMP .*unreachable/.test(rest)) {
    h.icmpType = 3;
    for (const [re, code] of ICMP4_UNREACH) {
      if (re.test(rest)) {
        h.icmpCode = code;
        break;
      }
    }
    const mtu = /need to frag \(mtu (\d+)\)/.exec(rest);
    if (mtu) h.icmpWord = Number(mtu[1]) & 0xffff;
  } else if (/^ICMP time exceeded in-transit/.test(rest)) h.icmpType = 11;
  else if (/^ICMP ip reassembly time exceeded/.test(rest)) (h.icmpType = 11), (h.icmpCode = 1);
  else if (/^ICMP redirect/.test(rest)) (h.icmpType = 5), (h.icmpCode = /redirect \S+ to host/.test(rest) ? 1 : 0);
  else if (/^ICMP \S+ source quench/.test(rest)) h.icmpType = 4;
  else if (/^ICMP parameter problem/.test(rest)) h.icmpType = 12;
  else if ((m = /^ICMP type-#(\d+)/.exec(rest))) h.icmpType = Number(m[1]);
  else return;
  if (isIcmpError(h)) h.quoteVersion = 4;
}

const ICMP6_TYPES: [string, number][] = [
  ['destination unreachable', 1],
  ['packet too big', 2],
  ['time exceeded', 3],
  ['parameter problem', 4],
  ['echo request', 128],
  ['echo reply', 129],
  ['multicast listener query', 130],
  ['multicast listener report', 131],
  ['multicast listener done', 132],
  ['router solicitation', 133],
  ['router advertisement', 134],
  ['neighbor solicitation', 135],
  ['neighbor advertisement', 136],
  ['redirect', 137],
];
const ICMP6_UNREACH: [string, number][] = [
  ['unreachable route', 0],
  ['unreachable prohibited', 1],
  ['beyond scope', 2],
  ['unreachable address', 3],
  ['unreachable port', 4],
  ['source address failed', 5],
  ['reject route', 6],
];

function icmp6Type(h: Hdr, rest: string): void {
  const m = /^ICMP6, ([a-z ]+?)(?:,|$)/.exec(rest);
  if (!m) return;
  const t = ICMP6_TYPES.find(([name]) => m[1]!.startsWith(name));
  if (!t) return;
  h.icmpType = t[1];
  if (t[1] === 1) {
    const c = ICMP6_UNREACH.find(([name]) => rest.includes(name));
    h.icmpCode = c ? c[1] : / tcp port | udp port /.test(rest) ? 4 : 0;
  } else if (t[1] === 3) h.icmpCode = /reassembly/.test(rest) ? 1 : 0;
  else if (t[1] === 2) {
    const mtu = /mtu (\d+)/.exec(rest);
    if (mtu) h.icmpWord = Number(mtu[1]);
  } else if (t[1] === 135 || t[1] === 136) {
    const a = (t[1] === 135 ? /who has ([0-9a-fA-F:.]+)/ : /tgt is ([0-9a-fA-F:.]+)/).exec(rest);
    if (a && parseIPv6(a[1]!.replace(/,$/, ''), h.ndTarget)) h.hasNdTarget = true;
  } else if (t[1] === 128 || t[1] === 129) {
    const e = /id (\d+), seq (\d+)/.exec(rest);
    if (e) h.icmpWord = ((Number(e[1]) & 0xffff) << 16) | (Number(e[2]) & 0xffff);
  }
  if (isIcmpError(h)) h.quoteVersion = 6;
}

// ---------------------------------------------------------------------------------------------- bytes

function hexBytes(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < s.length; i += 2) out.push(Number.parseInt(s.slice(i, i + 2), 16));
  return out;
}

function parseIPv4(s: string, into: Uint8Array, at: number): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return false;
  for (let i = 0; i < 4; i++) {
    const n = Number(m[i + 1]);
    if (n > 255) return false;
    into[at + i] = n;
  }
  return true;
}

function parseIPv6(sIn: string, into: Uint8Array): boolean {
  let s = sIn;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return false;
  const words: number[] = [];
  const tail: number[] = [];
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  const parse = (part: string, out: number[]): boolean => {
    if (part === '') return true;
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIPv4(g, v4, 0)) return false;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
        out.push(Number.parseInt(g, 16));
      }
    }
    return true;
  };
  if (dbl >= 0) {
    if (!parse(s.slice(0, dbl), words) || !parse(s.slice(dbl + 2), tail)) return false;
    if (words.length + tail.length > 7) return false;
    while (words.length + tail.length < 8) words.push(0);
    words.push(...tail);
  } else if (!parse(s, words) || words.length !== 8) return false;
  for (let i = 0; i < 8; i++) {
    into[2 * i] = words[i]! >> 8;
    into[2 * i + 1] = words[i]! & 0xff;
  }
  return true;
}

function sum16(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  return s;
}

function fold(sIn: number): number {
  let s = sIn;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

function pseudoSum(h: Hdr, b: Uint8Array, at: number, segLen: number): number {
  if (h.v === 4) return sum16(b, at + 12, 8) + 6 + segLen;
  return sum16(b, at + 8, 32) + 6 + (segLen >>> 16) + (segLen & 0xffff);
}
