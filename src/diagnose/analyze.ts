/**
 * analyze: one capture in, findings out. Streams the capture through the decoder and the connection
 * table, attaches a protocol session to every connection that matters (to the server port, or a
 * client speaking CONNECT to a proxy), files ICMP errors under the connection they quote, then judges
 * each connection and each server. Connections that do not matter are dropped as soon as that is
 * known, so memory follows the connections of interest, not the capture's size.
 */
import { Decoder } from '../decode/packet.js';
import { PROTO_ICMP, PROTO_ICMPV6, type Packet } from '../decode/view.js';
import { formatIPv4, formatIPv6 } from '../decode/addr.js';
import type { CaptureError } from '../errors.js';
import { readCapture, type CaptureInput, type ReadOptions } from '../input/reader.js';
import { linkTypeName } from '../input/linktypes.js';
import { Connection, ConnTracker, type DirStats } from '../flow/conn.js';
import { Session } from '../protocols/session.js';
import { ChecksumLedger, type ChecksumCounts, type ChecksumSummaryLine } from './checksums.js';
import { HINTS, VERDICT_OF, type Reason, type Verdict } from './hints.js';
import { judgeConnection, type ConnFinding, type Evidence } from './judge.js';
import { buildLadder, type LadderStep } from './ladder.js';

export interface AnalyzeOptions extends ReadOptions {
  /** the SSM server port (default 8443) */
  port?: number;
  /** only this server (address, optionally with port) */
  server?: { addr: string; port?: number };
  /** called with each connection's summary and provisional verdict as soon as it is judged */
  onConnection?: (r: ConnectionResult) => void;
  /**
   * connections reported in full per input (default 1000); the rest still count in their server's
   * verdict and go through onConnection, but are kept only as a slim summary (memory stays flat)
   */
  maxConnections?: number;
}

/** capture seconds a closed connection waits for stray packets (last ACK, a late RST) before it is judged */
const LINGER_SEC = 5;

export interface ConnectionResult {
  id: number;
  input: string;
  client: string;
  server: string;
  /** the proxy this connection went through (address:port), for tunnels */
  proxy: string | null;
  /** the CONNECT target for proxy legs */
  target: string | null;
  role: 'direct' | 'proxy-tunnel' | 'proxy-upstream';
  conn_state: string;
  history: string;
  first_frame: number;
  last_frame: number;
  start: string;
  duration: number;
  packets: { orig: number; resp: number };
  bytes: { orig: number; resp: number };
  retransmissions: { orig: number; resp: number };
  /** per direction (orig = client, resp = server), in the words of tshark's tcp.analysis and Zeek */
  tcp?: { orig: DirFacts; resp: DirFacts };
  syn_ack_rtt: number | null;
  ack_rtt: number | null;
  midstream: boolean;
  verdict: Verdict;
  reason: Reason;
  summary: string;
  inferred: boolean;
  evidence: Evidence[];
  tls: { version: string | null; sni: string | null; handshake_complete: boolean; alerts: string[]; certificate: { subject: string; issuer: string; not_after: string } | null } | null;
  http: ConnFinding['http'];
  exchanges: ConnFinding['exchanges'];
  payload_cut: boolean;
  /** who sent what, in frame order (listed connections only): the ladder diagram of the HTML and --ladder */
  ladder?: LadderStep[];
}

export interface DirFacts {
  packets: number;
  payload_bytes: number;
  retransmissions: number;
  retransmitted_bytes: number;
  out_of_order: number;
  duplicate_acks: number;
  sack_blocks: number;
  zero_windows: number;
  /** bytes never seen: lost before the capture point, or dropped by the capture */
  lost_bytes: number;
  /** bytes the snaplen cut from captured segments */
  snaplen_cut_bytes: number;
  mss: number | null;
  window_scale: number | null;
  max_segment: number;
  /** segments larger than the peer's MSS: TSO/GRO on the capturing host, not an error */
  super_segments: number;
  ttl: number | null;
  checksum_offload: number;
  checksum_bad: number;
}

function dirFacts(d: DirStats): DirFacts {
  const st = d.stream.stats;
  return {
    packets: d.packets,
    payload_bytes: d.payloadBytes,
    retransmissions: st.retransmissions,
    retransmitted_bytes: st.retransmittedBytes,
    out_of_order: st.outOfOrder,
    duplicate_acks: d.dupAcks,
    sack_blocks: d.sackBlocks,
    zero_windows: d.zeroWindows,
    lost_bytes: st.lostBytes,
    snaplen_cut_bytes: st.snaplenBytes,
    mss: d.mss >= 0 ? d.mss : null,
    window_scale: d.wscale >= 0 ? d.wscale : null,
    max_segment: d.maxSegment,
    super_segments: d.superSegments,
    ttl: d.ttl >= 0 ? d.ttl : null,
    checksum_offload: d.checksumPartial,
    checksum_bad: d.checksumBad,
  };
}

export interface ServerResult {
  input: string;
  address: string;
  port: number;
  verdict: Verdict;
  reason: Reason;
  summary: string;
  hint: string;
  /** ids of the connections listed in connections[] */
  connections: number[];
  /** all connections judged for this server (listed or not) */
  connection_count: number;
  evidence: Evidence[];
}

export interface InputResult {
  path: string;
  format: string | null;
  compression: string | null;
  link_types: { link_type: number; name: string; frames: number }[];
  packets: number;
  bytes: number;
  error: ReturnType<CaptureError['toJSON']> | null;
  readable: boolean;
  /** connections judged; those past maxConnections are in their servers' verdicts but not listed */
  connections_total: number;
  connections_omitted: number;
}

interface Judged {
  /** listed in full in connections[] */
  detail: boolean;
  f: ConnFinding;
  r: ConnectionResult;
  proxyTarget: { host: string; port: number } | null;
  clientAddr: string;
  serverAddr: string;
}

export interface CaptureAnalysis {
  input: InputResult;
  servers: ServerResult[];
  connections: ConnectionResult[];
  checksums: ChecksumSummaryLine[];
  error: CaptureError | null;
}

export async function analyzeCapture(input: CaptureInput, opts: AnalyzeOptions = {}): Promise<CaptureAnalysis> {
  const port = opts.port ?? 8443;
  const decoder = new Decoder();
  const ledger = new ChecksumLedger();
  const sessions = new Map<Connection, Session>();
  // the server port of interest: --server ADDR:PORT names it, else --port (8443)
  const wantPort = opts.server?.port ?? port;
  const interesting = (c: Connection) => c.server.port === wantPort && (opts.server === undefined || c.server.addr === opts.server.addr);
  const tracker = new ConnTracker({
    port: wantPort,
    onOpen: (c) => {
      // every connection gets a session until its first client bytes show it is not a proxy leg
      sessions.set(c, new Session(c));
    },
    onClose: (c) => {
      if (!c.dropped) closedQueue.push(c);
    },
    unwanted: (c) => {
      if (interesting(c)) return false;
      const kind = sessions.get(c)?.clientKind ?? '';
      // decided once the client spoke (a CONNECT makes it a proxy leg), or once it ended without a word
      const unwanted = kind === 'connect' ? false : kind !== '' || c.closed;
      if (unwanted) sessions.delete(c);
      return unwanted;
    },
  });
  const inputName = opts.name ?? (typeof input === 'string' ? input : '-');
  const closedQueue: Connection[] = [];
  const judged: Judged[] = [];
  const maxDetailed = opts.maxConnections ?? 1000;
  const summary = await readCapture(
    input,
    (frame) => {
      const p = decoder.decode(frame);
      if (p.ipVersion === 0) return;
      const time = frame.tsSec + frame.tsNsec / 1e9;
      if (p.isTcp) {
        // connections closed a while ago are judged and summarised now: memory follows open connections
        while (closedQueue.length > 0 && time - closedQueue[0]!.closedAt > LINGER_SEC) finalize(closedQueue.shift()!);
        const c = tracker.add(p, time);
        if (interesting(c) || sessions.get(c)?.clientKind === 'connect') {
          // a connection's addresses never change: its counts per direction are looked up once
          const i = c.lastFromClient ? 0 : 1;
          c.ledger[i] = ledger.add(p, c.ledger[i] as ChecksumCounts | null);
        }
      } else if ((p.transport === PROTO_ICMP || p.transport === PROTO_ICMPV6) && p.quoted.present) {
        if (p.quoted.proto === 6 && p.quoted.srcPort >= 0) fileIcmp(p, time);
        else if (isUnreachable(p)) fileCutIcmp(p, time);
      }
    },
    opts,
  );

  /**
   * An ICMP error whose quote the snaplen cut before the ports: it is about the connection of the host it
   * is sent to that is waiting for an answer to its SYN (the most recent one, within a few seconds).
   */
  function fileCutIcmp(p: Packet, time: number): void {
    const to = p.dst();
    const q = p.quoted;
    const quotedSrc = q.ipVersion === 4 ? formatIPv4(p.tBuf, q.srcOff) : q.ipVersion === 6 && p.tCapLen >= 8 + 24 ? formatIPv6(p.tBuf, q.srcOff) : '';
    for (let i = tracker.all.length - 1; i >= 0; i--) {
      const c = tracker.all[i]!;
      if (c.client.addr !== to || c.orig.syn === 0 || c.resp.syn > 0 || time - c.end > 5) continue;
      if (quotedSrc && quotedSrc !== c.client.addr) continue;
      const v6 = p.transport === PROTO_ICMPV6;
      c.icmp.push({ frame: p.frame.number, time, from: p.src(), type: p.icmpType, code: p.icmpCode, v6, cut: true });
      c.event(p.frame.number, time, 's', `ICMP${v6 ? 'v6' : ''} type ${p.icmpType} code ${p.icmpCode} from ${p.src()} (its quote cut by the snaplen)`);
      return;
    }
  }

  function fileIcmp(p: Packet, time: number): void {
    const q = p.quoted;
    const v6 = q.ipVersion === 6;
    const fmt = v6 ? formatIPv6 : formatIPv4;
    const qs = fmt(p.tBuf, q.srcOff);
    const qd = fmt(p.tBuf, q.dstOff);
    let c = tracker.findQuoted(qs, q.srcPort, qd, q.dstPort);
    if (!c) {
      // the quoted SYN itself was not captured: the ICMP error alone tells of the attempt
      c = new Connection();
      c.client = { addr: qs, port: q.srcPort };
      c.server = { addr: qd, port: q.dstPort };
      c.ipVersion = q.ipVersion;
      c.orig.syn = 1;
      c.firstFrame = p.frame.number;
      c.start = time;
      c.startEpoch = p.frame.timeEpoch();
      tracker.all.push(c);
    }
    c.lastFrame = Math.max(c.lastFrame, p.frame.number);
    c.end = Math.max(c.end, time);
    c.icmp.push({ frame: p.frame.number, time, from: p.src(), type: p.icmpType, code: p.icmpCode, v6 });
    c.event(p.frame.number, time, 's', `ICMP${v6 ? 'v6' : ''} type ${p.icmpType} code ${p.icmpCode} from ${p.src()}`);
  }

  /** judge a connection, keep its summary, let go of everything else */
  function finalize(c: Connection): void {
    if (c.entry === null && c.dropped) return;
    const s = sessions.get(c) ?? null;
    c.finish();
    s?.end();
    const isProxy = s?.proxy != null;
    const wanted = !c.dropped && (isProxy || interesting(c)) && !(isProxy && opts.server && (normHost(s!.proxy!.host) !== opts.server.addr || s!.proxy!.port !== wantPort));
    // stray packets of a connection already judged (a late ACK or RST) are not a connection of their own
    const stray = c.midstream && c.orig.payloadBytes + c.resp.payloadBytes === 0 && c.icmp.length === 0;
    if (wanted && !stray) {
      const f = judgeConnection(c, s ?? new Session(c));
      const detail = judged.length < maxDetailed;
      // a connection neither listed nor streamed out is only slimmed: its per-direction facts are not built
      const r = toResult(c, s, f, inputName, !detail && !opts.onConnection);
      opts.onConnection?.(r);
      const proxyTarget = s?.proxy ? { host: normHost(s.proxy.host), port: s.proxy.port } : null;
      if (detail) judged.push({ detail, f, r, proxyTarget, clientAddr: c.client.addr, serverAddr: c.server.addr });
      else judged.push({ detail, ...slim(f, r), proxyTarget, clientAddr: c.client.addr, serverAddr: c.server.addr });
    }
    sessions.delete(c);
    tracker.retire(c);
  }

  for (const c of closedQueue.splice(0)) finalize(c);
  for (const c of [...tracker.all]) if (!c.dropped) finalize(c);
  judged.sort((a, b) => a.r.first_frame - b.r.first_frame || a.r.id - b.r.id);

  // a direct connection from a proxy's address to a tunnel's target is the proxy's own leg: evidence for the tunnel
  const proxyAddrs = new Set(judged.filter((x) => x.proxyTarget).map((x) => x.serverAddr));
  for (const x of judged) {
    if (!x.proxyTarget && proxyAddrs.has(x.clientAddr)) {
      const target = x.r.server;
      if (judged.some((t) => t.proxyTarget && `${fmtHost(t.proxyTarget.host)}:${t.proxyTarget.port}` === target)) x.r.role = 'proxy-upstream';
    }
  }

  const servers = judgeServers(judged, inputName);
  return {
    input: {
      path: inputName,
      format: summary.format,
      compression: summary.compression,
      link_types: summary.linkTypes.map((l) => ({ link_type: l.linkType, name: linkTypeName(l.linkType), frames: l.frames })),
      packets: summary.frames,
      bytes: summary.bytes,
      error: summary.error ? summary.error.toJSON() : null,
      readable: summary.readable,
      connections_total: judged.length,
      connections_omitted: judged.filter((x) => !x.detail).length,
    },
    servers,
    connections: judged.filter((x) => x.detail).map((x) => x.r),
    checksums: ledger.summarize(),
    error: summary.error,
  };
}

/**
 * Past maxConnections a connection keeps only what its server's verdict needs: reason, summary, role,
 * its first exchange and an HTTP error if there was one. Evidence comes from a listed connection.
 */
function slim(f: ConnFinding, r: ConnectionResult): { f: ConnFinding; r: ConnectionResult } {
  const sf: ConnFinding = {
    verdict: f.verdict,
    reason: f.reason,
    summary: f.summary,
    evidence: [],
    inferred: f.inferred,
    singleExchange: f.singleExchange,
    exchanges: f.exchanges.slice(0, 1),
    tlsVersion: null,
    handshakeComplete: f.handshakeComplete,
    http: f.http.filter((h) => h.error).slice(0, 1),
    payloadCut: f.payloadCut,
  };
  // only what the server's verdict and the ordering read: the rest of the result is never listed
  const sr = {
    id: r.id,
    input: r.input,
    client: r.client,
    server: r.server,
    role: r.role,
    conn_state: r.conn_state,
    first_frame: r.first_frame,
    verdict: r.verdict,
    reason: r.reason,
    summary: r.summary,
    evidence: [],
  } as unknown as ConnectionResult;
  return { f: sf, r: sr };
}

function isUnreachable(p: Packet): boolean {
  return p.transport === PROTO_ICMP ? p.icmpType === 3 || p.icmpType === 11 : p.icmpType === 1 || p.icmpType === 3;
}

function normHost(h: string): string {
  return h.replace(/^\[|\]$/g, '').toLowerCase();
}

function toResult(c: Connection, s: Session | null, f: ConnFinding, input: string, lean = false): ConnectionResult {
  const proxy = s?.proxy ?? null;
  const ct = s?.clientTls;
  const st = s?.serverTls;
  const hasTls = !!ct && (ct.recordCount > 0 || (st?.recordCount ?? 0) > 0);
  const cert = st?.certificates[0];
  return {
    id: c.id,
    input,
    client: `${fmtHost(c.client.addr)}:${c.client.port}`,
    server: proxy ? proxy.target : `${fmtHost(c.server.addr)}:${c.server.port}`,
    proxy: proxy ? `${fmtHost(c.server.addr)}:${c.server.port}` : null,
    target: proxy ? proxy.target : null,
    role: proxy ? 'proxy-tunnel' : 'direct',
    conn_state: c.connState,
    history: c.history,
    first_frame: c.firstFrame,
    last_frame: c.lastFrame,
    start: c.startEpoch,
    duration: Number(c.duration.toFixed(6)),
    packets: { orig: c.orig.packets, resp: c.resp.packets },
    bytes: { orig: c.orig.payloadBytes, resp: c.resp.payloadBytes },
    retransmissions: { orig: c.orig.stream.stats.retransmissions, resp: c.resp.stream.stats.retransmissions },
    tcp: lean ? undefined : { orig: dirFacts(c.orig), resp: dirFacts(c.resp) },
    syn_ack_rtt: c.synAckRtt >= 0 ? Number(c.synAckRtt.toFixed(6)) : null,
    ack_rtt: c.ackRtt >= 0 ? Number(c.ackRtt.toFixed(6)) : null,
    midstream: c.midstream,
    verdict: f.verdict,
    reason: f.reason,
    summary: f.summary,
    inferred: f.inferred,
    evidence: lean ? [] : f.evidence.sort((a, b) => a.frame - b.frame),
    tls: hasTls && !lean
      ? {
          version: f.tlsVersion,
          sni: ct?.clientHello?.sni ?? null,
          handshake_complete: f.handshakeComplete,
          alerts: [...(ct?.alerts ?? []).map((a) => `client ${a.name}`), ...(st?.alerts ?? []).map((a) => `server ${a.name}`)],
          certificate: cert ? { subject: cert.subject, issuer: cert.issuer, not_after: cert.validTo } : null,
        }
      : null,
    http: f.http,
    exchanges: f.exchanges,
    payload_cut: f.payloadCut,
    ladder: lean ? undefined : buildLadder(c, s),
  };
}

function fmtHost(a: string): string {
  return a.includes(':') ? `[${a}]` : a;
}

const LAYER_ORDER: Verdict[] = ['transport', 'tls', 'application', 'inconclusive', 'healthy'];

/**
 * Judge each server from its connections together: retries with the same outcome are one finding with a
 * count; a client that opens one connection per call is told from a rejected call being retried by what
 * follows (different requests, answers of different sizes) across connections.
 */
export function judgeServers(items: { detail: boolean; r: ConnectionResult; f: ConnFinding; proxyTarget: { host: string; port: number } | null }[], input: string): ServerResult[] {
  const groups = new Map<string, { address: string; port: number; items: typeof items }>();
  for (const it of items) {
    let address: string;
    let port: number;
    if (it.proxyTarget) {
      address = it.proxyTarget.host;
      port = it.proxyTarget.port;
    } else {
      const m = /^\[?(.+?)\]?:(\d+)$/.exec(it.r.server)!;
      address = m[1]!;
      port = Number(m[2]);
    }
    const key = `${address}|${port}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { address, port, items: [] }));
    g.items.push(it);
  }
  const out: ServerResult[] = [];
  for (const g of groups.values()) {
    // the proxy's own leg never decides when its tunnel is in the capture
    const deciding = g.items.some((i) => i.r.role === 'proxy-tunnel') ? g.items.filter((i) => i.r.role !== 'proxy-upstream') : g.items;
    const judged = judgeGroup(deciding.map((i) => i.f), deciding.map((i) => i.r));
    const upstream = g.items.filter((i) => i.r.role === 'proxy-upstream');
    const evidence = [...judged.evidence];
    for (const u of upstream) evidence.push({ frame: u.r.first_frame, text: `the proxy's own connection ${u.r.client} -> ${u.r.server}: ${u.r.conn_state}, ${u.r.summary}` });
    out.push({
      input,
      address: g.address,
      port: g.port,
      verdict: VERDICT_OF[judged.reason],
      reason: judged.reason,
      summary: judged.summary,
      hint: HINTS[judged.reason],
      connections: g.items.filter((i) => i.detail).map((i) => i.r.id),
      connection_count: g.items.length,
      evidence: evidence.sort((a, b) => a.frame - b.frame),
    });
  }
  out.sort((a, b) => LAYER_ORDER.indexOf(a.verdict) - LAYER_ORDER.indexOf(b.verdict) || a.address.localeCompare(b.address) || a.port - b.port);
  return out;
}

function judgeGroup(fs: ConnFinding[], rs0: ConnectionResult[]): { reason: Reason; summary: string; evidence: Evidence[] } {
  const n = fs.length;
  // connections past the listing cap have no evidence of their own: borrow a listed one's with the same reason
  const byReason = new Map<Reason, Evidence[]>();
  rs0.forEach((r, i) => {
    if (r.evidence.length > 0 && !byReason.has(fs[i]!.reason)) byReason.set(fs[i]!.reason, r.evidence);
  });
  const rs = rs0.map((r, i) => (r.evidence.length > 0 ? r : { ...r, evidence: byReason.get(fs[i]!.reason) ?? [] }));
  const ok = fs.filter((f) => f.reason === 'ok');
  if (ok.length > 0) {
    const i = fs.indexOf(ok[ok.length - 1]!);
    return { reason: 'ok', summary: ok.length === n ? rs[i]!.summary : `${rs[i]!.summary} (${n - ok.length} other connection${n - ok.length > 1 ? 's' : ''} failed first: ${[...new Set(fs.filter((f) => f.reason !== 'ok').map((f) => f.reason))].join(', ')})`, evidence: rs[i]!.evidence };
  }
  const single = fs.map((f, i) => ({ f, r: rs[i]! })).filter((x) => x.f.singleExchange);
  if (single.length > 0) {
    // one exchange per connection: different requests across connections mean the calls go on (healthy);
    // the same request again and again, each answered the same short way, is a refused call retried
    const reqSizes = single.map((x) => x.f.exchanges[0]!.requestBytes);
    const spread = Math.max(...reqSizes) - Math.min(...reqSizes);
    if (single.length >= 2 && spread > 48) {
      const last = single[single.length - 1]!;
      const sizes = reqSizes.length > 8 ? `${reqSizes.slice(0, 8).join(', ')}, ...` : reqSizes.join(', ');
      return { reason: 'ok', summary: `${single.length} connections each carry one request of different sizes (${sizes} bytes) and its answer: the client opens a connection per call and the calls go on`, evidence: last.r.evidence };
    }
    const first = single[0]!;
    const viaHttp = fs.find((f) => f.http.some((h) => h.error));
    if (viaHttp) {
      const h = viaHttp.http.find((x) => x.error)!;
      const reason: Reason = h.error === 'invalid_client' ? 'invalid-client' : h.error === 'invalid_grant' ? 'invalid-grant' : 'http-error';
      return { reason, summary: `the token call is answered ${h.status} ${h.error}${h.description ? ` (${h.description})` : ''}`, evidence: first.r.evidence };
    }
    const count = single.length;
    return {
      reason: 'auth-rejected',
      summary: count > 1 ? `${count} connections, each: ${first.f.summary} (the same refused call retried)` : first.f.summary,
      evidence: first.r.evidence,
    };
  }
  // failures: the lowest layer's reason, counted
  let best = 0;
  for (let i = 1; i < n; i++) {
    const a = LAYER_ORDER.indexOf(fs[i]!.verdict);
    const b = LAYER_ORDER.indexOf(fs[best]!.verdict);
    // inconclusive connections yield to any decisive one
    if (a < b) best = i;
  }
  const f = fs[best]!;
  const same = fs.filter((x) => x.reason === f.reason).length;
  return { reason: f.reason, summary: same > 1 ? `${same} connections: ${f.summary}` : f.summary, evidence: rs[best]!.evidence };
}

/** the run's verdict: the failing server of the lowest layer, healthy only when every server is */
export function overallVerdict(servers: ServerResult[]): { verdict: Verdict; reason: Reason; summary: string } {
  if (servers.length === 0) return { verdict: 'inconclusive', reason: 'no-server-traffic', summary: 'no connection to the server port in the capture' };
  for (const v of LAYER_ORDER) {
    const s = servers.find((x) => x.verdict === v);
    if (s) return { verdict: s.verdict, reason: s.reason, summary: `${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port}: ${s.summary}` };
  }
  return { verdict: 'inconclusive', reason: 'no-server-traffic', summary: '' };
}
