/**
 * The ladder of one connection: who sent what to whom, in frame order, as a person draws it (SYN,
 * SYN-ACK, ClientHello, the server's flight, alerts, HTTP requests and answers, FIN/RST, ICMP from the
 * router that sent it). Built once, when the connection is judged, from facts the flow and protocol
 * stages already keep (bounded lists: the first 100 TCP events, 128 new data segments, 256 TLS records
 * per direction, the HTTP heads), so the per-packet path does no extra work. Steps of one side that
 * follow each other without news (encrypted records, a multi-segment flight, a burst of
 * retransmissions) are one arrow.
 */
import type { Connection } from '../flow/conn.js';
import type { Session } from '../protocols/session.js';
import { CT_OPAQUE, handshakeName, type TlsRecordInfo } from '../protocols/tls.js';
import type { HttpMessage } from '../protocols/http.js';

export type LadderParty = 'client' | 'server' | 'proxy' | (string & {});

export interface LadderStep {
  /** the frame of the step's first packet */
  frame: number;
  /** the frame of its last packet, when the arrow groups several */
  last_frame?: number;
  /** seconds since the connection's first packet */
  time: number;
  /** 'client', 'server', 'proxy', or the address of a router that sent an ICMP error */
  from: LadderParty;
  to: LadderParty;
  label: string;
  kind: 'tcp' | 'tls' | 'http' | 'icmp';
  /** packets of the arrow grouped together */
  packets?: number;
  /** payload bytes the arrow carries (on the wire) */
  bytes?: number;
  retransmission?: boolean;
  /** the snaplen cut the payload: what it said was not all captured */
  cut?: boolean;
}

/** arrows drawn per connection at most (the first ones; a long healthy session repeats itself) */
export const MAX_LADDER_STEPS = 80;

const KIND_RANK = { tcp: 0, tls: 1, http: 2, icmp: 3 } as const;

interface Draft {
  frame: number;
  lastFrame: number;
  time: number;
  dir: 'c' | 's';
  /** the far end of a client packet, or the near end of a server packet: 'server' or 'proxy' */
  end: 'server' | 'proxy';
  parts: string[];
  kind: LadderStep['kind'];
  bytes: number;
  packets: number;
  retransmission: boolean;
  cut: boolean;
  /**
   * what the arrow carries, bits of BULK (encrypted records, data, bytes not captured: merges with the
   * next arrow like it), HS (handshake records: merges with the rest of its flight) and OTHER (SYN, FIN,
   * alerts, HTTP heads: stands alone)
   */
  cats: number;
}

const BULK = 1;
const HS = 2;
const OTHER = 4;

/** "client_hello" -> "ClientHello", as tshark's Info column writes TLS messages */
function camel(s: string): string {
  let t = camelNames.get(s);
  if (t === undefined) camelNames.set(s, (t = s.replace(/(^|_)([a-z])/g, (_m, _u: string, ch: string) => ch.toUpperCase())));
  return t;
}
/** camel's answers (a handful of handshake message names) */
const camelNames = new Map<string, string>();

/** the bytes of a TCP event "retransmission of N bytes ...", -1 for other events */
function retransmittedBytes(what: string): number {
  const head = 'retransmission of ';
  if (!what.startsWith(head)) return -1;
  let j = head.length;
  while (j < what.length && what.charCodeAt(j) >= 48 && what.charCodeAt(j) <= 57) j++;
  if (j === head.length || !what.startsWith(' bytes', j)) return -1;
  return Number(what.slice(head.length, j));
}

export function buildLadder(c: Connection, s: Session | null): LadderStep[] {
  const proxy = s?.proxy ?? null;
  // in a tunnel the proxy's answer hands the streams to the target: later data is between client and server
  const tunnelFrom = proxy && proxy.status === 200 ? proxy.responseFrame : Infinity;
  const endOf = (frame: number, tcpOnly: boolean): 'server' | 'proxy' => (!proxy ? 'server' : tcpOnly || frame <= tunnelFrom ? 'proxy' : 'server');
  // one draft per frame, direction and end (a number as key: no string per lookup)
  const drafts = new Map<number, Draft>();
  const order: Draft[] = [];
  const get = (dir: 'c' | 's', end: 'server' | 'proxy', frame: number, time: number): Draft => {
    const key = frame * 4 + (dir === 'c' ? 0 : 2) + (end === 'server' ? 0 : 1);
    let d = drafts.get(key);
    if (!d) {
      d = { frame, lastFrame: frame, time, dir, end, parts: [], kind: 'tcp', bytes: 0, packets: 1, retransmission: false, cut: false, cats: 0 };
      drafts.set(key, d);
      order.push(d);
    }
    return d;
  };
  const kind = (d: Draft, k: LadderStep['kind']) => {
    if (KIND_RANK[k] > KIND_RANK[d.kind]) d.kind = k;
  };

  // TCP: handshake, closes, resets, retransmissions (ICMP errors are drawn from their sender below)
  const icmp = c.icmp;
  for (const e of c.events) {
    if (icmp.length > 0 && icmp.some((i) => i.frame === e.frame)) continue;
    const retransmitted = retransmittedBytes(e.what);
    if (retransmitted >= 0) {
      const d = get(e.dir, endOf(e.frame, false), e.frame, e.time);
      d.retransmission = true;
      d.bytes += retransmitted;
      d.parts.push('retransmission');
      d.cats |= BULK;
      continue;
    }
    const d = get(e.dir, endOf(e.frame, true), e.frame, e.time);
    d.parts.push(e.what);
    d.cats |= OTHER;
  }
  // new data: each segment, named below by the records and messages that start in it
  for (const g of c.segments.toArray()) {
    const d = get(g.dir, endOf(g.frame, false), g.frame, g.time);
    d.bytes += g.len;
    if (g.cut) d.cut = true;
    if (g.fin && !d.parts.some((p) => p === 'FIN' || p.startsWith('RST'))) d.parts.push('FIN');
    // plain data stays without a category: it continues whatever its side sent before (a record's rest)
    if (g.fin) d.cats |= OTHER;
  }
  if (s) {
    tlsSteps(s.clientTls.records, 'c', s, get, endOf, kind);
    tlsSteps(s.serverTls.records, 's', s, get, endOf, kind);
    httpSteps(s.clientHttp.messages, 'c', get, endOf, kind);
    httpSteps(s.serverHttp.messages, 's', get, endOf, kind);
  }

  order.sort((a, b) => a.frame - b.frame || (a.dir === b.dir ? 0 : a.dir === 'c' ? -1 : 1));
  // merge runs: one side's opaque data, one side's handshake flight, one side's retransmissions
  const merged: Draft[] = [];
  for (const d of order) {
    const prev = merged[merged.length - 1];
    const same = prev && prev.dir === d.dir && prev.end === d.end && prev.kind === d.kind;
    if (same && ((bulk(prev) && bulk(d) && prev.retransmission === d.retransmission) || (prev.cats === HS && (d.cats === HS || d.cats === 0)))) {
      prev.lastFrame = d.frame;
      prev.packets += d.packets;
      prev.bytes += d.bytes;
      prev.cut ||= d.cut;
      for (const p of d.parts) if (!prev.parts.includes(p)) prev.parts.push(p);
      continue;
    }
    merged.push(d);
  }

  const steps: LadderStep[] = [];
  const t0 = c.start;
  const rel = (t: number) => Number(Math.max(0, t - t0).toFixed(6));
  for (const d of merged) {
    if (steps.length >= MAX_LADDER_STEPS) break;
    const from = d.dir === 'c' ? 'client' : d.end;
    const to = d.dir === 'c' ? d.end : 'client';
    // what the packet carries first, then how TCP closed (a FIN riding on the last data)
    if (d.parts.length > 1) d.parts.sort(closingLast);
    let label = d.parts.length ? d.parts.join(', ') : `${d.bytes} bytes${d.cut ? ' (not captured)' : ''}`;
    if (d.retransmission) label = d.packets > 1 ? `retransmission x${d.packets}` : 'retransmission';
    else if (d.packets > 1 && (d.cats & (HS | OTHER)) === 0) label += ` x${d.packets}`;
    const st: LadderStep = { frame: d.frame, time: rel(d.time), from, to, label, kind: d.kind };
    if (d.lastFrame !== d.frame) st.last_frame = d.lastFrame;
    if (d.packets > 1) st.packets = d.packets;
    if (d.bytes > 0) st.bytes = d.bytes;
    if (d.retransmission) st.retransmission = true;
    if (d.cut) st.cut = true;
    steps.push(st);
  }
  // ICMP errors: from the router (or host) that sent them, to the client whose packet they quote
  for (const i of c.icmp) {
    const from = i.from === c.server.addr ? 'server' : i.from === c.client.addr ? 'client' : i.from;
    const what = i.v6 ? icmp6Name(i.type, i.code) : icmpName(i.type, i.code);
    const step: LadderStep = { frame: i.frame, time: rel(i.time), from, to: 'client', label: `ICMP${i.v6 ? 'v6' : ''} ${what}`, kind: 'icmp' };
    if (i.cut) step.cut = true;
    steps.push(step);
  }
  // (the arrows are in frame order already; ICMP errors go in between)
  if (c.icmp.length > 0) steps.sort((a, b) => a.frame - b.frame);
  return steps.length > MAX_LADDER_STEPS ? steps.slice(0, MAX_LADDER_STEPS) : steps;
}

/** only bulk, or nothing (plain data continues whatever its side sent before) */
function bulk(x: Draft): boolean {
  return x.cats === BULK || x.cats === 0;
}

function closing(p: string): boolean {
  return p === 'FIN' || p.startsWith('RST');
}

function closingLast(a: string, b: string): number {
  return Number(closing(a)) - Number(closing(b));
}

type Get = (dir: 'c' | 's', end: 'server' | 'proxy', frame: number, time: number) => Draft;
type EndOf = (frame: number, tcpOnly: boolean) => 'server' | 'proxy';
type Kind = (d: Draft, k: LadderStep['kind']) => void;

function tlsSteps(records: readonly TlsRecordInfo[], dir: 'c' | 's', s: Session, get: Get, endOf: EndOf, kind: Kind): void {
  const alerts = dir === 'c' ? s.clientTls.alerts : s.serverTls.alerts;
  for (const r of records) {
    const d = get(dir, endOf(r.frame, false), r.frame, r.time);
    if (r.cut) d.cut = true;
    let part: string;
    let cat = OTHER;
    if (r.type === CT_OPAQUE) {
      part = 'data (not captured)';
      cat = BULK;
    } else if (r.type === 23) {
      part = 'Application Data';
      cat = BULK;
    } else if (r.type === 20) {
      part = 'ChangeCipherSpec';
      cat = HS;
    } else if (r.type === 21) {
      const a = alerts.find((x) => x.frame === r.frame);
      part = !a ? 'Alert' : a.encrypted ? 'Encrypted Alert' : `Alert${a.level === 2 ? ' (fatal)' : a.level === 1 ? ' (warning)' : ''}: ${a.name}`;
    } else if (r.type === 22) {
      cat = HS;
      part = r.encrypted || r.handshakes.length === 0 ? 'Encrypted Handshake Message' : r.handshakes.map((t) => camel(handshakeName(t))).join(', ');
    } else part = `record type ${r.type}`;
    if (r.type !== CT_OPAQUE) kind(d, 'tls');
    if (!d.parts.includes(part)) d.parts.push(part);
    d.cats |= cat;
  }
}

function httpSteps(messages: readonly HttpMessage[], dir: 'c' | 's', get: Get, endOf: EndOf, kind: Kind): void {
  for (const m of messages) {
    // the CONNECT request and the proxy's answer (before the tunnel opens) are between client and proxy
    const d = get(dir, endOf(m.frame, false), m.frame, m.time);
    const label = m.kind === 'request' ? `${m.method ?? '?'} ${m.target ?? ''}`.trim() : `HTTP ${m.status ?? '?'}${m.reason ? ` ${m.reason}` : ''}`;
    d.parts = d.parts.filter((p) => p !== 'data' && p !== 'data (not captured)');
    d.parts.push(label);
    if (m.cut) d.cut = true;
    d.cats |= OTHER;
    kind(d, 'http');
  }
}

const ICMP_UNREACH: Record<number, string> = {
  0: 'net unreachable',
  1: 'host unreachable',
  2: 'protocol unreachable',
  3: 'port unreachable',
  4: 'fragmentation needed',
  9: 'net administratively prohibited',
  10: 'host administratively prohibited',
  13: 'communication administratively prohibited',
};
const ICMP6_UNREACH: Record<number, string> = {
  0: 'no route',
  1: 'administratively prohibited',
  2: 'beyond scope of source',
  3: 'address unreachable',
  4: 'port unreachable',
  5: 'source address failed policy',
  6: 'reject route',
};

function icmpName(type: number, code: number): string {
  if (type === 3) return `destination unreachable (${ICMP_UNREACH[code] ?? `code ${code}`})`;
  if (type === 11) return `time exceeded (code ${code})`;
  return `type ${type} code ${code}`;
}

function icmp6Name(type: number, code: number): string {
  if (type === 1) return `destination unreachable (${ICMP6_UNREACH[code] ?? `code ${code}`})`;
  if (type === 2) return 'packet too big';
  if (type === 3) return `time exceeded (code ${code})`;
  return `type ${type} code ${code}`;
}
