/**
 * Server verdicts, folded one connection at a time. A server's verdict reads a handful of facts from each
 * of its connections (reason, the first exchange's size, an HTTP error) and keeps only the connections it
 * may quote (the earliest, the latest, the first of the lowest layer), so memory follows the number of
 * servers and clients, not of connections: a capture with a million connections to one server costs what
 * one with ten does.
 */
import { HINTS, VERDICT_OF, type Reason, type Verdict } from './hints.js';
import type { Evidence } from './judge.js';
import type { LogNote } from './logs.js';
import { hostPort } from '../decode/addr.js';

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
  /** log lines matched to this server's connections (--log), on the capture's clock */
  log_events?: LogNote[];
}

/** what a server's verdict needs to know of one judged connection */
export interface JudgedConn {
  id: number;
  firstFrame: number;
  /** capture time of its first packet (seconds) */
  start: number;
  reason: Reason;
  verdict: Verdict;
  summary: string;
  /** empty for connections past the listing cap: they borrow a listed one's with the same reason */
  evidence: Evidence[];
  /** one request and its answer, then a close: judged across connections */
  singleExchange: boolean;
  /** bytes of the first exchange's request (-1 none) */
  requestBytes: number;
  /** bytes of the first exchange's answer (-1 none; absent: unknown) */
  responseBytes?: number;
  /**
   * its first exchange's request holds no bytes the capture missed (lost, not cut by the snaplen): its size is
   * what was sent. Sizes with bytes missing do not tell calls apart. (Absent: whole.)
   */
  requestWhole?: boolean;
  /** the same for its answer */
  responseWhole?: boolean;
  httpError: { status?: number; error?: string; description?: string } | null;
  /** listed in full in the report's connections[] */
  listed: boolean;
  clientAddr: string;
  clientPort: number;
  /** the address and port connected to (the proxy's, for a tunnel) */
  serverAddr: string;
  serverPort: number;
  /** the CONNECT target as the client wrote it (tunnels), reported as the server; null: serverAddr:serverPort */
  target: string | null;
  connState: string;
  /** the CONNECT target for proxy legs (host without brackets, lower case) */
  proxyTarget: { host: string; port: number } | null;
}

const LAYER_ORDER: Verdict[] = ['transport', 'tls', 'application', 'inconclusive', 'healthy'];
/** proxy-own-connection lines quoted per server */
const MAX_UPSTREAM_LINES = 20;
/** distinct clients kept apart per server (the rest share one bucket: only the proxy's own leg needs them apart) */
const MAX_CLIENTS_PER_SERVER = 256;
const TUNNEL = '\0tunnel';
const OTHER_CLIENTS = '\0other';

/** the client as reported (address:port); built only for the lines that quote it */
function clientText(j: JudgedConn): string {
  return hostPort(j.clientAddr, j.clientPort);
}
/** the server as reported: address:port connected to, or the CONNECT target */
function serverText(j: JudgedConn): string {
  return j.target ?? hostPort(j.serverAddr, j.serverPort);
}

/** a before b in capture order (first frame, then id) */
function before(a: JudgedConn, b: JudgedConn): boolean {
  return a.firstFrame < b.firstFrame || (a.firstFrame === b.firstFrame && a.id < b.id);
}
function earliest(a: JudgedConn | null, b: JudgedConn | null): JudgedConn | null {
  return a === null ? b : b === null ? a : before(b, a) ? b : a;
}
function latest(a: JudgedConn | null, b: JudgedConn | null): JudgedConn | null {
  return a === null ? b : b === null ? a : before(a, b) ? b : a;
}
/** a verdict's place in LAYER_ORDER (a lookup, not a search: asked a few times per connection) */
const LAYER_RANK = new Map<Verdict, number>(LAYER_ORDER.map((v, i) => [v, i]));
function layer(v: Verdict): number {
  return LAYER_RANK.get(v) ?? -1;
}

/** the facts of a set of connections that a server verdict reads, mergeable */
class GroupAcc {
  count = 0;
  listed: JudgedConn[] = [];
  /** per reason: how many, the earliest, the latest, and the earliest with evidence of its own */
  readonly reasons = new Map<Reason, { count: number; first: JudgedConn; last: JudgedConn; withEvidence: JudgedConn | null }>();
  lastOk: JudgedConn | null = null;
  /** the latest connection that failed for a known reason (transport, TLS or application) */
  lastFail: JudgedConn | null = null;
  firstSingle: JudgedConn | null = null;
  lastSingle: JudgedConn | null = null;
  singleCount = 0;
  reqMin = Infinity;
  reqMax = -Infinity;
  respMin = Infinity;
  respMax = -Infinity;
  /** the earliest single-exchange connections (up to 8), in capture order: their request sizes are quoted */
  reqFirst: JudgedConn[] = [];
  /** the latest single-exchange connections (up to MAX_TAIL), in capture order: the last sync is judged by them */
  reqLast: JudgedConn[] = [];
  firstHttpError: JudgedConn | null = null;
  /** the earliest connection of the lowest layer */
  best: JudgedConn | null = null;
  /** the earliest connections (for the proxy's-own-leg lines) */
  items: JudgedConn[] = [];

  add(j: JudgedConn): void {
    this.count++;
    if (j.listed) this.listed.push(j);
    this.addReason(j.reason, 1, j, j, j.evidence.length > 0 ? j : null);
    if (j.reason === 'ok') this.lastOk = latest(this.lastOk, j);
    else if (j.verdict === 'transport' || j.verdict === 'tls' || j.verdict === 'application') this.lastFail = latest(this.lastFail, j);
    if (j.singleExchange) {
      this.singleCount++;
      this.firstSingle = earliest(this.firstSingle, j);
      this.lastSingle = latest(this.lastSingle, j);
      if (j.requestWhole !== false) {
        this.reqMin = Math.min(this.reqMin, j.requestBytes);
        this.reqMax = Math.max(this.reqMax, j.requestBytes);
      }
      if (j.responseWhole !== false && j.responseBytes !== undefined && j.responseBytes >= 0) {
        this.respMin = Math.min(this.respMin, j.responseBytes);
        this.respMax = Math.max(this.respMax, j.responseBytes);
      }
      this.reqFirst = keepEarliestOne(this.reqFirst, j, 8);
      this.reqLast = keepLatestOne(this.reqLast, j, MAX_TAIL);
    }
    if (j.httpError) this.firstHttpError = earliest(this.firstHttpError, j);
    if (this.best === null || layer(j.verdict) < layer(this.best.verdict) || (layer(j.verdict) === layer(this.best.verdict) && before(j, this.best))) this.best = j;
    this.items = keepEarliestOne(this.items, j, MAX_UPSTREAM_LINES);
  }

  merge(o: GroupAcc): void {
    this.count += o.count;
    this.listed.push(...o.listed);
    for (const [reason, r] of o.reasons) this.addReason(reason, r.count, r.first, r.last, r.withEvidence);
    this.lastOk = latest(this.lastOk, o.lastOk);
    this.lastFail = latest(this.lastFail, o.lastFail);
    this.singleCount += o.singleCount;
    this.firstSingle = earliest(this.firstSingle, o.firstSingle);
    this.lastSingle = latest(this.lastSingle, o.lastSingle);
    this.reqMin = Math.min(this.reqMin, o.reqMin);
    this.reqMax = Math.max(this.reqMax, o.reqMax);
    this.respMin = Math.min(this.respMin, o.respMin);
    this.respMax = Math.max(this.respMax, o.respMax);
    this.reqFirst = keepEarliest(this.reqFirst, o.reqFirst, 8);
    this.reqLast = keepLatest(this.reqLast, o.reqLast, MAX_TAIL);
    this.firstHttpError = earliest(this.firstHttpError, o.firstHttpError);
    if (o.best && (this.best === null || layer(o.best.verdict) < layer(this.best.verdict) || (layer(o.best.verdict) === layer(this.best.verdict) && before(o.best, this.best)))) this.best = o.best;
    this.items = keepEarliest(this.items, o.items, MAX_UPSTREAM_LINES);
  }

  private addReason(reason: Reason, count: number, first: JudgedConn, last: JudgedConn, withEvidence: JudgedConn | null): void {
    const r = this.reasons.get(reason);
    if (!r) this.reasons.set(reason, { count, first, last, withEvidence });
    else {
      r.count += count;
      r.first = earliest(r.first, first)!;
      r.last = latest(r.last, last)!;
      r.withEvidence = earliest(r.withEvidence, withEvidence);
    }
  }

  /** one call refused, `count` connections retrying it: the OAuth error when one was read, else inferred */
  private refusedCall(first: JudgedConn, h: JudgedConn['httpError'], count: number, note: string): { reason: Reason; summary: string; evidence: Evidence[] } {
    if (h) {
      const reason: Reason = h.error === 'invalid_client' ? 'invalid-client' : h.error === 'invalid_grant' ? 'invalid-grant' : 'http-error';
      return { reason, summary: `the token call is answered ${h.status} ${h.error}${h.description ? ` (${h.description})` : ''}${note}`, evidence: this.evidenceOf(first) };
    }
    return { reason: 'auth-rejected', summary: `${count > 1 ? `${count} connections, each: ${first.summary} (the same refused call retried)` : first.summary}${note}`, evidence: this.evidenceOf(first) };
  }

  /** a connection's evidence, or that of the earliest connection with the same reason that has some */
  evidenceOf(j: JudgedConn): Evidence[] {
    return j.evidence.length > 0 ? j.evidence : (this.reasons.get(j.reason)?.withEvidence?.evidence ?? []);
  }

  /**
   * Judge the connections together: retries with the same outcome are one finding with a count; a client
   * that opens one connection per call is told from a rejected call being retried by what follows
   * (different requests, answers of different sizes) across connections.
   */
  judge(stopped: { ok: JudgedConn; fail: JudgedConn } | null = null): { reason: Reason; summary: string; evidence: Evidence[] } {
    const n = this.count;
    const ok = this.reasons.get('ok');
    if (ok && this.lastOk && stopped) {
      // a client whose connections worked, then failed: the sync is broken now. Its last failure is the
      // finding; the success is said, not judged
      const j = stopped.fail;
      return { reason: j.reason, summary: `${j.summary} (connections from ${j.clientAddr} worked before, the last at frame ${stopped.ok.firstFrame}: it worked, then stopped)`, evidence: this.evidenceOf(j) };
    }
    if (ok && this.lastOk) {
      const j = this.lastOk;
      if (ok.count === n) return { reason: 'ok', summary: j.summary, evidence: this.evidenceOf(j) };
      const failed = [...this.reasons.entries()].filter(([r]) => r !== 'ok').sort((a, b) => (before(a[1].first, b[1].first) ? -1 : 1)).map(([r]) => r);
      return { reason: 'ok', summary: `${j.summary} (${n - ok.count} other connection${n - ok.count > 1 ? 's' : ''} failed first: ${failed.join(', ')})`, evidence: this.evidenceOf(j) };
    }
    if (this.singleCount > 0 && this.firstSingle && this.lastSingle) {
      // one exchange per connection: different requests across connections mean the calls go on (healthy);
      // the same request again and again, each answered the same short way, is a refused call retried
      // (differentCalls). A capture may hold several syncs (hours apart): the last one tells how it stands now
      const burst = lastBurst(this.reqLast);
      if (burst.gap >= 0) {
        const tail = burst.conns;
        let lo = Infinity;
        let hi = -Infinity;
        let rlo = Infinity;
        let rhi = -Infinity;
        for (const j of tail) {
          if (j.requestWhole !== false) {
            lo = Math.min(lo, j.requestBytes);
            hi = Math.max(hi, j.requestBytes);
          }
          if (j.responseWhole !== false && j.responseBytes !== undefined && j.responseBytes >= 0) {
            rlo = Math.min(rlo, j.responseBytes);
            rhi = Math.max(rhi, j.responseBytes);
          }
        }
        const earlier = this.singleCount - tail.length;
        const note = ` (judged by the last sync: ${earlier} earlier connection${earlier > 1 ? 's' : ''} of one call each, the last ${Math.round(burst.gap)} s before it)`;
        if (tail.length >= 2 && differentCalls(hi - lo, rhi - rlo)) {
          return { reason: 'ok', summary: `the last sync's ${tail.length} connections each carry one request of different sizes (${tail.map((j) => j.requestBytes).join(', ')} bytes) and its answer: the client opens a connection per call and the calls go on${note}`, evidence: this.evidenceOf(tail[tail.length - 1]!) };
        }
        return this.refusedCall(tail[0]!, tail[0]!.httpError, tail.length, note);
      }
      if (this.singleCount >= 2 && differentCalls(this.reqMax - this.reqMin, this.respMax - this.respMin)) {
        const shown = this.reqFirst.map((j) => j.requestBytes).join(', ');
        const sizes = this.singleCount > 8 ? `${shown}, ...` : shown;
        return { reason: 'ok', summary: `${this.singleCount} connections each carry one request of different sizes (${sizes} bytes) and its answer: the client opens a connection per call and the calls go on`, evidence: this.evidenceOf(this.lastSingle) };
      }
      // the inference yields to a failure read at a lower layer (a reset, an alert) on other connections to
      // this server when no call is seen retried: one exchange and a close may be the client's last call
      const failed = this.best;
      if (this.singleCount === 1 && failed && layer(failed.verdict) < layer('application')) {
        const same = this.reasons.get(failed.reason)!.count;
        return { reason: failed.reason, summary: same > 1 ? `${same} connections: ${failed.summary}` : failed.summary, evidence: this.evidenceOf(failed) };
      }
      return this.refusedCall(this.firstSingle, this.firstHttpError?.httpError ?? null, this.singleCount, '');
    }
    // failures: the lowest layer's reason (inconclusive connections yield to any decisive one), counted
    const best = this.best!;
    const same = this.reasons.get(best.reason)!.count;
    return { reason: best.reason, summary: same > 1 ? `${same} connections: ${best.summary}` : best.summary, evidence: this.evidenceOf(best) };
  }
}

/** single-exchange connections kept from a capture's end; a gap of BURST_GAP_SEC without any starts a new sync */
const MAX_TAIL = 32;
const BURST_GAP_SEC = 600;

/**
 * The connections of the last burst (from the end back to the first gap of BURST_GAP_SEC) and that gap;
 * gap -1 when the kept connections show none (one burst, or one longer than what is kept)
 */
function lastBurst(kept: JudgedConn[]): { conns: JudgedConn[]; gap: number } {
  let i = kept.length - 1;
  while (i > 0 && kept[i]!.start - kept[i - 1]!.start <= BURST_GAP_SEC) i--;
  return { conns: kept.slice(i), gap: i > 0 ? kept[i]!.start - kept[i - 1]!.start : -1 };
}

/**
 * Connections of one call each carry different calls: requests more than 48 bytes apart, or a few bytes
 * apart with answers more than 48 bytes apart. A refused call retried repeats its request to the byte (a
 * session ticket riding along an answer adds a few hundred bytes to one answer, but then the requests are
 * the same).
 */
function differentCalls(requestSpread: number, answerSpread: number): boolean {
  return requestSpread > 48 || (requestSpread >= 4 && answerSpread > 48);
}

/** merge two capture-ordered lists, keeping the latest `max` */
function keepLatest(a: JudgedConn[], b: JudgedConn[], max: number): JudgedConn[] {
  if (b.length === 0) return a;
  return [...a, ...b].sort((x, y) => (before(x, y) ? -1 : before(y, x) ? 1 : 0)).slice(-max);
}

function keepLatestOne(a: JudgedConn[], j: JudgedConn, max: number): JudgedConn[] {
  if (a.length === 0 || before(a[a.length - 1]!, j)) {
    a.push(j);
    if (a.length > max) a.shift();
    return a;
  }
  return keepLatest(a, [j], max);
}

/** merge two capture-ordered lists, keeping the earliest `max` */
function keepEarliest(a: JudgedConn[], b: JudgedConn[], max: number): JudgedConn[] {
  if (b.length === 0) return a;
  if (a.length >= max && !before(b[0]!, a[a.length - 1]!)) return a;
  return [...a, ...b].sort((x, y) => (before(x, y) ? -1 : before(y, x) ? 1 : 0)).slice(0, max);
}

interface ServerGroup {
  address: string;
  port: number;
  parts: Map<string, GroupAcc>;
}

/** keepEarliest with one more connection (no array for it when the list is full of earlier ones) */
function keepEarliestOne(a: JudgedConn[], j: JudgedConn, max: number): JudgedConn[] {
  if (a.length >= max && !before(j, a[a.length - 1]!)) return a;
  return keepEarliest(a, [j], max);
}

/**
 * All servers of one input, fed one judged connection at a time. Each server keeps its tunnels (proxy
 * legs whose CONNECT target it is) and its direct connections per client apart, because a direct
 * connection from a proxy's address to a tunnel's target is the proxy's own leg: evidence for the tunnel,
 * never its verdict. That is known only at the end, when every tunnel has been seen.
 */
export class ServerJudge {
  /** by address, then port (no key string built per connection) */
  private readonly groups = new Map<string, Map<number, ServerGroup>>();
  /** the groups in the order they were first seen */
  private readonly order: ServerGroup[] = [];
  /** servers (addresses) of proxy tunnels, and the CONNECT targets (host|port) */
  private readonly proxyAddrs = new Set<string>();
  private readonly tunnelTargets = new Set<string>();

  constructor(private readonly input: string) {}

  add(j: JudgedConn): void {
    let address: string;
    let port: number;
    if (j.proxyTarget) {
      address = j.proxyTarget.host;
      port = j.proxyTarget.port;
      this.proxyAddrs.add(j.serverAddr);
      this.tunnelTargets.add(`${address}|${port}`);
    } else {
      address = j.serverAddr;
      port = j.serverPort;
    }
    let byPort = this.groups.get(address);
    if (!byPort) this.groups.set(address, (byPort = new Map()));
    let g = byPort.get(port);
    if (!g) {
      byPort.set(port, (g = { address, port, parts: new Map() }));
      this.order.push(g);
    }
    let part = j.proxyTarget ? TUNNEL : j.clientAddr;
    if (!g.parts.has(part) && g.parts.size >= MAX_CLIENTS_PER_SERVER) part = OTHER_CLIENTS;
    let acc = g.parts.get(part);
    if (!acc) g.parts.set(part, (acc = new GroupAcc()));
    acc.add(j);
  }

  /** a direct connection from this client to this server (as printed) is a proxy's own leg to a tunnel's target */
  isUpstream(clientAddr: string, server: string): boolean {
    if (!this.proxyAddrs.has(clientAddr)) return false;
    const m = /^\[?(.+?)\]?:(\d+)$/.exec(server);
    return m !== null && this.tunnelTargets.has(`${m[1]!.toLowerCase()}|${m[2]}`);
  }

  results(): ServerResult[] {
    const out: ServerResult[] = [];
    for (const g of this.order) {
      const key = `${g.address}|${g.port}`;
      const tunnels = g.parts.has(TUNNEL);
      const deciding = new GroupAcc();
      const upstream: GroupAcc[] = [];
      const all = new GroupAcc();
      // a client whose last failure came after its last success (the latest such failure of any client)
      let stopped: { ok: JudgedConn; fail: JudgedConn } | null = null;
      for (const [part, acc] of g.parts) {
        all.merge(acc);
        // the proxy's own leg never decides when its tunnel is in the capture
        const own = part !== TUNNEL && part !== OTHER_CLIENTS && this.proxyAddrs.has(part) && this.tunnelTargets.has(key.toLowerCase());
        if (own) upstream.push(acc);
        if (!(tunnels && own)) {
          deciding.merge(acc);
          if (part !== OTHER_CLIENTS && acc.lastOk && acc.lastFail && before(acc.lastOk, acc.lastFail) && (stopped === null || before(stopped.fail, acc.lastFail))) stopped = { ok: acc.lastOk, fail: acc.lastFail };
        }
      }
      const judged = deciding.judge(stopped);
      const evidence = [...judged.evidence];
      const ups = upstream.reduce((a, u) => keepEarliest(a, u.items, MAX_UPSTREAM_LINES), [] as JudgedConn[]);
      for (const u of ups) evidence.push({ frame: u.firstFrame, text: `the proxy's own connection ${clientText(u)} -> ${serverText(u)}: ${u.connState}, ${u.summary}` });
      out.push({
        input: this.input,
        address: g.address,
        port: g.port,
        verdict: VERDICT_OF[judged.reason],
        reason: judged.reason,
        summary: judged.summary,
        hint: HINTS[judged.reason],
        connections: all.listed.sort((a, b) => (before(a, b) ? -1 : 1)).map((j) => j.id),
        connection_count: all.count,
        evidence: evidence.sort((a, b) => a.frame - b.frame),
      });
    }
    out.sort((a, b) => layer(a.verdict) - layer(b.verdict) || a.address.localeCompare(b.address) || a.port - b.port);
    return out;
  }
}

/** the run's verdict: the failing server of the lowest layer, healthy only when every server is */
export function overallVerdict(servers: ServerResult[]): { verdict: Verdict; reason: Reason; summary: string } {
  if (servers.length === 0) return { verdict: 'inconclusive', reason: 'no-server-traffic', summary: 'no connection to the server port in the capture' };
  for (const v of LAYER_ORDER) {
    const s = servers.find((x) => x.verdict === v);
    if (s) return { verdict: s.verdict, reason: s.reason, summary: `${hostPort(s.address, s.port)}: ${s.summary}` };
  }
  return { verdict: 'inconclusive', reason: 'no-server-traffic', summary: '' };
}
