/**
 * Logs beside the capture: vManage's and SSM On-Prem's log events are put on the capture's clock and
 * matched to the connections they speak of (client address, request path, time). The clock offset of each
 * log against the capture is estimated from the pairs that agree best (logs of different hosts drift).
 * Then the findings use what only the logs can say: the OAuth error of an encrypted answer, SSM On-Prem's
 * nginx failing to reach its own backend, and errors at a time the capture does not cover.
 */
import path from 'node:path';
import { resolveLogYears, type LogEvent, type LogFile } from '../input/logs.js';
import { hostOf } from '../decode/addr.js';
import { overallVerdict, type CaptureAnalysis, type ConnectionResult, type ServerResult } from './analyze.js';
import { HINTS, VERDICT_OF, type Reason, type Verdict } from './hints.js';
import type { Evidence } from './judge.js';

/** a log event as reported: times in UTC ISO, `time` on the capture's clock (log time minus the offset) */
export interface LogNote {
  time: string;
  log_time: string;
  file: string;
  line: number;
  kind: LogEvent['kind'];
  source: LogEvent['source'];
  /** what the line says, in a few words */
  what: string;
  /** the line as written (cut to 1000 characters; redacted on the way out) */
  text: string;
  input?: string;
  connection?: number;
}

/** a log as the report shows it: what reading it found (its events aside), and how it lines up with the capture */
export interface LogSummary extends Pick<LogFile, 'path' | 'kind' | 'compression' | 'lines' | 'parsed' | 'skipped' | 'unrecognized' | 'tz' | 'error'> {
  /** the log's clock minus the capture's, seconds (positive: the log is ahead); null when no pair matched */
  offset_seconds: number | null;
  /** log events that agree on that offset */
  offset_pairs: number;
  /** events matched to a connection */
  matched: number;
}

export interface TimelineEntry {
  time: string;
  source: 'capture' | 'log';
  kind: string;
  text: string;
  input?: string;
  connection?: number;
  frame?: number;
  file?: string;
  line?: number;
  log_time?: string;
}

/** what the logs say with no connection of the capture to pin it on */
export interface LogFinding {
  verdict: Verdict;
  reason: Reason;
  summary: string;
  hint: string;
  events: LogNote[];
  /** lines of this burst past the first MAX_FINDING_EVENTS */
  events_omitted?: number;
}

export interface LogAnalysis {
  logs: LogSummary[];
  timeline: TimelineEntry[];
  timeline_omitted: number;
  findings: LogFinding[];
  /** bursts past the first MAX_FINDINGS */
  findings_omitted: number;
  /** no capture was given or readable: the verdict comes from the logs alone */
  logs_only: boolean;
  /** what vManage's settings (as logged) say against what the capture shows: another server, a proxy or none */
  notes: string[];
}

/** seconds a log stamp may lie outside its connection (stamps to the second, the time to write the line) */
const TOL = 1.5;
/** largest clock offset looked for */
const WINDOW = 1800;
/**
 * an offset larger than this must be agreed by lines of at least two connections: one sync's lines beside
 * one connection minutes away may as well be another sync the capture missed
 */
const LONE_OFFSET = 120;
const MAX_TIMELINE = 5000;
const MAX_PAIRS = 20_000;
const MAX_FINDINGS = 100;
const MAX_FINDING_EVENTS = 20;
const MAX_CANDIDATES = 4000;
/** events that stand for one request (they carry its time): the ones the offset is estimated from */
const ANCHORS = new Set<LogEvent['kind']>(['vmanage-request-failed', 'vmanage-token-request', 'vmanage-auth-failed', 'ssm-request', 'ssm-access', 'ssm-upstream-failed']);

interface Conn {
  a: CaptureAnalysis;
  c: ConnectionResult;
  start: number;
  end: number;
  client: string;
  paths: string[];
  notes: LogNote[];
  events: LogEvent[];
}

const iso = (t: number) => new Date(Math.round(t * 1000)).toISOString();

/** oauth/token from /backend/oauth/token?..., backend/oauth/token, /oauth/token */
export function normPath(p: string): string {
  return p.replace(/[?#].*$/, '').replace(/^\/+/, '').replace(/^backend\//, '').replace(/\/+$/, '');
}

function cutText(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) + '...' : s;
}

/** a few words for a log event */
export function describeEvent(e: LogEvent): string {
  const p = e.path ? normPath(e.path) : '';
  const err = e.error ? ` ${e.error}${e.description ? ` (${cutText(e.description, 120)})` : ''}` : '';
  switch (e.kind) {
    case 'vmanage-request-failed':
      return `vManage: ${e.method ?? ''} ${p} failed${e.status ? `, answered ${e.status}` : ''}${err}${e.cut ? ' (line cut)' : ''}`;
    case 'vmanage-auth-failed':
      return `vManage: Smart Account authentication failed${e.user !== undefined ? ` for user '${e.user}'` : ''}${err}`;
    case 'vmanage-token-request':
      return `vManage: sends the token call ${p}`;
    case 'vmanage-onprem-mode':
      return 'vManage: on-prem licensing mode';
    case 'vmanage-server-url':
      return `vManage: SSM On-Prem server ${e.server_url}`;
    case 'vmanage-proxy':
      return e.proxy_host !== undefined ? `vManage: proxy host ${e.proxy_host || '(none)'}` : `vManage: proxy port ${e.proxy_port || '(none)'}`;
    case 'vmanage-error':
      return `vManage: ERROR${e.cut ? ' (line cut before its message)' : ''}${err}`;
    case 'ssm-request':
      return `SSM On-Prem app: ${e.method} ${p}${e.status ? ` -> ${e.status}` : ''}${err}${e.client ? ` from ${e.client}` : ''}`;
    case 'ssm-access':
      return `SSM On-Prem nginx: ${e.method ?? ''} ${p}${e.status ? ` -> ${e.status}` : ''}${e.client ? ` from ${e.client}` : ''}`;
    case 'ssm-upstream-failed':
      return `SSM On-Prem nginx cannot reach its backend${e.upstream ? ` ${e.upstream.replace(/[?#].*$/, '')}` : ''}: ${e.detail}${p ? ` (${e.method} ${p}${e.client ? ` from ${e.client}` : ''})` : ''}`;
    case 'ssm-nginx-error':
      return `SSM On-Prem nginx [${e.level}]${e.client ? ` client ${e.client}` : ''}`;
  }
}

function note(e: LogEvent, offset: number, x?: Conn): LogNote {
  const t = e.time!;
  return {
    time: iso(t - offset),
    log_time: iso(t),
    file: e.file,
    line: e.line,
    kind: e.kind,
    source: e.source,
    what: describeEvent(e),
    text: cutText(e.text, 1000),
    ...(x ? { input: x.a.input.path, connection: x.c.id } : {}),
  };
}

/**
 * The offset (log clock minus capture clock) that the most log events agree on: each (event, connection)
 * pair allows an interval of offsets; the point covered by the most distinct events wins, the one
 * nearest zero among ties, and the offset is the middle of what those events' intervals share without
 * the tolerance (zero when that includes zero, give or take 0.1 s).
 */
function estimateOffset(anchors: LogEvent[], conns: Conn[], compatible: (e: LogEvent, x: Conn) => boolean): { offset: number | null; pairs: number } {
  // per pair: offsets that put the event inside the connection [a, b], or within TOL of it
  const iv: { a: number; b: number; e: number; c: Conn }[] = [];
  // bounded work on big logs and captures: anchors evenly sampled so that pairs stay near MAX_PAIRS
  const step = Math.max(1, Math.ceil((anchors.length * Math.max(1, conns.length)) / MAX_PAIRS));
  anchors.filter((_, i) => i % step === 0).forEach((e, i) => {
    for (const x of conns) {
      if (!compatible(e, x)) continue;
      const a = e.time! - x.end;
      const b = e.time! - x.start;
      if (b + TOL < -WINDOW || a - TOL > WINDOW) continue;
      iv.push({ a, b, e: i, c: x });
    }
  });
  if (iv.length === 0) return { offset: null, pairs: 0 };
  let cands = [0, ...iv.flatMap((v) => [v.a, v.b, v.a - TOL, v.b + TOL])];
  if (cands.length > MAX_CANDIDATES) {
    const k = Math.ceil(cands.length / MAX_CANDIDATES);
    cands = cands.filter((_, i) => i % k === 0);
  }
  const dist = (v: { a: number; b: number }, d: number) => (d < v.a ? v.a - d : d > v.b ? d - v.b : 0);
  // most events placed; among ties the least total distance of each event to its nearest connection; then nearest zero
  let best = { n: 0, cost: Infinity, d: 0 };
  const near = new Map<number, number>();
  for (const d of cands) {
    near.clear();
    for (const v of iv) {
      const k = dist(v, d);
      if (k <= TOL && k < (near.get(v.e) ?? Infinity)) near.set(v.e, k);
    }
    let cost = 0;
    for (const k of near.values()) cost += k;
    const n = near.size;
    if (n > best.n || (n === best.n && (cost < best.cost - 1e-9 || (Math.abs(cost - best.cost) <= 1e-9 && Math.abs(d) < Math.abs(best.d))))) best = { n, cost, d };
  }
  if (best.n === 0) return { offset: null, pairs: 0 };
  // what each event's nearest pair allows (stamps cut to the second may not quite fit all: then the middle)
  const chosen = new Map<number, { a: number; b: number; k: number; c: Conn }>();
  for (const v of iv) {
    const k = dist(v, best.d);
    if (k <= TOL && k < (chosen.get(v.e)?.k ?? Infinity)) chosen.set(v.e, { a: v.a, b: v.b, k, c: v.c });
  }
  let lo = -Infinity;
  let hi = Infinity;
  for (const v of chosen.values()) {
    lo = Math.max(lo, v.a);
    hi = Math.min(hi, v.b);
  }
  const offset = lo - 0.1 <= 0 && 0 <= hi + 0.1 ? 0 : (lo + hi) / 2;
  if (Math.abs(offset) > LONE_OFFSET && new Set([...chosen.values()].map((v) => v.c)).size < 2) return { offset: null, pairs: 0 };
  return { offset: Math.round(offset * 1000) / 1000, pairs: best.n };
}

/** the connection this event speaks of, on the capture's clock: inside its time span (give or take TOL), nearest first */
function matchEvent(e: LogEvent, offset: number, conns: Conn[], compatible: (e: LogEvent, x: Conn) => boolean): Conn | undefined {
  const t = e.time! - offset;
  let best: Conn | undefined;
  let bestDist = Infinity;
  for (const x of conns) {
    const dist = t < x.start ? x.start - t : t > x.end ? t - x.end : 0;
    if (dist > TOL || !compatible(e, x)) continue;
    if (dist < bestDist || (dist === bestDist && best && x.start > best.start)) {
      best = x;
      bestDist = dist;
    }
  }
  return best;
}

const OAUTH_REASON: Record<string, Reason> = { invalid_client: 'invalid-client', invalid_grant: 'invalid-grant' };

/** what the matched log events of some connections say: an OAuth error, SSM's backend failing */
function logFacts(evs: LogEvent[]): { oauth?: LogEvent; backend?: LogEvent; answered?: LogEvent; status?: LogEvent } {
  const oauth = evs.find((e) => e.error && OAUTH_REASON[e.error]) ;
  const upstream = evs.find((e) => e.kind === 'ssm-upstream-failed');
  const gateway = evs.find((e) => (e.kind === 'ssm-access' || e.kind === 'ssm-request') && e.status !== undefined && e.status >= 502 && e.status <= 504);
  // nginx tries the next upstream after one fails: an answer below 500 means the call was served after all
  const answered = evs.find((e) => e.status !== undefined && e.status < 500);
  const status = evs.find((e) => e.status !== undefined && e.status >= 400);
  return { oauth, backend: gateway ?? (answered ? undefined : upstream), answered, status };
}

function evidenceOf(e: LogEvent, frame: number): Evidence {
  return { frame, text: `${path.basename(e.file)} line ${e.line} (${e.stamp}): ${describeEvent(e)}`, log: { file: e.file, line: e.line } };
}

/** reasons a log fact may make precise: what the capture alone could not read */
const REFINABLE = new Set<Reason>(['auth-rejected', 'http-error', 'capture-incomplete']);

function refine(cur: { reason: Reason; summary: string }, evs: LogEvent[]): { reason: Reason; summary: string; by: LogEvent } | null {
  const f = logFacts(evs);
  if (!REFINABLE.has(cur.reason)) return null;
  if (f.oauth) {
    const e = f.oauth;
    const status = e.status ?? f.status?.status;
    return {
      reason: OAUTH_REASON[e.error!]!,
      summary: `the token call is answered ${status ? `${status} ` : ''}${e.error}${e.description ? ` (${e.description})` : ''}, as ${path.basename(e.file)} line ${e.line} says; the capture shows: ${cur.summary}`,
      by: e,
    };
  }
  if (f.backend) {
    const e = f.backend;
    return {
      reason: 'ssm-backend-failed',
      summary: `SSM On-Prem's nginx could not reach its own backend (${e.kind === 'ssm-upstream-failed' ? e.detail : `answered ${e.status}`}), as ${path.basename(e.file)} line ${e.line} says: not the network; the capture shows: ${cur.summary}`,
      by: e,
    };
  }
  return null;
}

export interface ApplyLogsOptions {
  /** the year of year-less syslog stamps when no capture tells it */
  year?: number;
}

/**
 * Put the logs on the captures' timeline and let their facts into the findings. Mutates the analyses'
 * servers and connections (log_events, evidence, and reasons the logs make precise).
 */
export function applyLogs(analyses: CaptureAnalysis[], files: LogFile[], opts: ApplyLogsOptions = {}): LogAnalysis {
  const conns: Conn[] = analyses.flatMap((a) =>
    a.connections.map((c) => {
      const start = Number(c.start);
      return { a, c, start, end: start + c.duration, client: hostOf(c.client).toLowerCase(), paths: c.http.filter((h) => h.target).map((h) => normPath(h.target!)), notes: [], events: [] };
    }),
  );
  const capStart = conns.length ? Math.min(...conns.map((x) => x.start)) : null;
  const capEnd = conns.length ? Math.max(...conns.map((x) => x.end)) : null;
  const year = capStart !== null ? new Date(capStart * 1000).getUTCFullYear() : opts.year;
  if (year !== undefined) resolveLogYears(files, year, capStart ?? undefined);
  const clients = new Set(conns.map((x) => x.client));
  const logs: LogSummary[] = [];
  const timeline: TimelineEntry[] = [];
  const unmatched: { e: LogEvent; offset: number }[] = [];

  for (const f of files) {
    const evs = f.events.filter((e) => e.time !== null);
    // compare client addresses only when the log knows the capture's clients (no NAT between them)
    const byClient = evs.some((e) => e.client && clients.has(e.client));
    const compatible = (e: LogEvent, x: Conn) => (!byClient || !e.client || e.client === x.client) && (!e.path || x.paths.length === 0 || x.paths.includes(normPath(e.path)));
    const est = estimateOffset(evs.filter((e) => ANCHORS.has(e.kind)), conns, compatible);
    const offset = est.offset ?? 0;
    let matched = 0;
    for (const e of evs) {
      const x = matchEvent(e, offset, conns, compatible);
      const n = note(e, offset, x);
      if (x) {
        matched++;
        x.notes.push(n);
        x.events.push(e);
      } else if (isError(e)) unmatched.push({ e, offset });
      timeline.push({ time: n.time, source: 'log', kind: e.kind, text: `${n.what}`, file: e.file, line: e.line, log_time: n.log_time, ...(x ? { input: x.a.input.path, connection: x.c.id } : {}) });
    }
    logs.push({
      path: f.path,
      kind: f.kind,
      compression: f.compression,
      lines: f.lines,
      parsed: f.parsed,
      skipped: f.skipped,
      unrecognized: f.unrecognized,
      tz: f.tz,
      offset_seconds: est.offset,
      offset_pairs: est.pairs,
      matched,
      error: f.error,
    });
  }

  // connections: their log events, and the reason the logs make precise
  for (const x of conns) {
    if (x.notes.length === 0) continue;
    x.c.log_events = x.notes.sort((p, q) => p.time.localeCompare(q.time));
    const frame = x.c.exchanges[0]?.response_frame || x.c.last_frame;
    const r = refine(x.c, x.events);
    if (r) {
      x.c.reason = r.reason;
      x.c.verdict = VERDICT_OF[r.reason];
      x.c.summary = r.summary;
      x.c.inferred = false;
    }
    const ev = x.events.filter((e) => e !== r?.by && (isError(e) || e.status !== undefined));
    x.c.evidence.push(...(r ? [r.by] : []).concat(ev).slice(0, 6).map((e) => evidenceOf(e, frame)));
  }
  // servers: from their connections' events
  for (const a of analyses) {
    for (const s of a.servers) {
      const mine = conns.filter((x) => x.a === a && s.connections.includes(x.c.id) && x.events.length > 0);
      if (mine.length === 0) continue;
      s.log_events = mine.flatMap((x) => x.notes).sort((p, q) => p.time.localeCompare(q.time));
      const evs = mine.flatMap((x) => x.events);
      const frame = mine[0]!.c.exchanges[0]?.response_frame || mine[0]!.c.last_frame;
      const r = refine(s, evs);
      if (r) {
        s.reason = r.reason;
        s.verdict = VERDICT_OF[r.reason];
        s.summary = mine.length > 1 ? `${r.summary} (${mine.length} connections with log lines)` : r.summary;
        s.hint = HINTS[r.reason];
      }
      const extra = evs.filter((e) => e !== r?.by && (isError(e) || e.status !== undefined));
      s.evidence.push(...(r ? [r.by] : []).concat(extra).slice(0, 6).map((e) => evidenceOf(e, frame)));
    }
  }

  const logsOnly = analyses.every((a) => !a.input.readable);
  const omitted = { n: 0 };
  const findings = groupUnmatched(unmatched, capStart, capEnd, logsOnly, analyses.length > 0, omitted, nearestConn(conns));

  for (const x of conns) {
    timeline.push({ time: iso(x.start), source: 'capture', kind: 'connection-start', text: `conn ${x.c.client} -> ${x.c.server} opens`, input: x.a.input.path, connection: x.c.id, frame: x.c.first_frame });
    timeline.push({ time: iso(x.end), source: 'capture', kind: 'connection-end', text: `conn ${x.c.client} -> ${x.c.server} ends: ${x.c.conn_state} ${x.c.history || '-'}, ${x.c.verdict}/${x.c.reason}`, input: x.a.input.path, connection: x.c.id, frame: x.c.last_frame });
  }
  timeline.sort((p, q) => p.time.localeCompare(q.time) || (p.source === q.source ? 0 : p.source === 'capture' ? -1 : 1));
  const notes = logsOnly ? [] : settingsNotes(analyses, files);
  return { logs, timeline: timeline.slice(0, MAX_TIMELINE), timeline_omitted: Math.max(0, timeline.length - MAX_TIMELINE), findings, findings_omitted: omitted.n, logs_only: logsOnly, notes };
}

/** an event that tells of a failure */
function isError(e: LogEvent): boolean {
  if (e.kind === 'vmanage-request-failed' || e.kind === 'vmanage-auth-failed' || e.kind === 'ssm-upstream-failed') return true;
  if ((e.kind === 'ssm-access' || e.kind === 'ssm-request') && e.status !== undefined && e.status >= 400) {
    const p = e.path ? normPath(e.path) : '';
    return p.startsWith('oauth') || p.startsWith('api') || e.status >= 500;
  }
  return false;
}

/** errors no connection explains, one finding per burst (lines of one file within a few seconds) */
/** seconds from a log time to the nearest connection (positive: the connection is earlier), or null */
function nearestConn(conns: Conn[]): (t: number) => number | null {
  return (t) => {
    let best: number | null = null;
    for (const x of conns) {
      const d = t < x.start ? t - x.start : t > x.end ? t - x.end : 0;
      if (best === null || Math.abs(d) < Math.abs(best)) best = d;
    }
    return best;
  };
}

function nearText(d: number | null): string {
  if (d === null || Math.abs(d) > WINDOW) return '';
  return ` (or the log's clock is off: the nearest connection ${d >= 0 ? 'ended' : 'starts'} ${Math.abs(d).toFixed(1)} s ${d >= 0 ? 'earlier' : 'later'}, and only one sync's lines speak for that offset)`;
}

function groupUnmatched(items: { e: LogEvent; offset: number }[], capStart: number | null, capEnd: number | null, logsOnly: boolean, hadCapture: boolean, omitted: { n: number }, nearest: (t: number) => number | null): LogFinding[] {
  const out: LogFinding[] = [];
  const groups: { e: LogEvent; offset: number }[][] = [];
  // events come in line order per file: a burst is the file's current group while the lines keep within 3 s
  const current = new Map<string, { e: LogEvent; offset: number }[]>();
  for (const it of items) {
    const g = current.get(it.e.file);
    if (g && Math.abs(g[g.length - 1]!.e.time! - it.e.time!) <= 3) g.push(it);
    else {
      const n = [it];
      groups.push(n);
      current.set(it.e.file, n);
    }
  }
  for (const g of groups) {
    if (out.length >= MAX_FINDINGS) {
      omitted.n++;
      continue;
    }
    const evs = g.map((x) => x.e);
    const f = logFacts(evs);
    let reason: Reason;
    if (f.oauth) reason = OAUTH_REASON[f.oauth.error!]!;
    else if (f.backend) reason = 'ssm-backend-failed';
    else if (f.status && (f.status.status === 401 || f.status.status === 403)) reason = 'auth-rejected';
    else if (f.status) reason = 'http-error';
    else if (evs.some((e) => e.kind === 'vmanage-auth-failed')) reason = 'auth-rejected';
    else continue;
    const first = f.oauth ?? f.backend ?? f.status ?? evs[0]!;
    const when = iso(first.time!);
    const up = evs.find((e) => e.kind === 'ssm-upstream-failed');
    const retried = up && !f.backend && f.answered ? ` (nginx first failed to reach one backend: ${up.detail}; another answered)` : '';
    const where = logsOnly
      ? hadCapture
        ? 'no capture could be read: this comes from the logs alone'
        : 'no capture given: this comes from the logs alone'
      : capStart === null
        ? 'the capture holds no connection to the server port at all: it was taken at another time or place (capture on vManage VPN 0 while the sync runs)'
        : `no connection in the capture at that time (its connections span ${iso(capStart)} to ${iso(capEnd!)} on the capture's clock): the capture was taken at another time or place${nearText(nearest(first.time!))}`;
    out.push({
      verdict: VERDICT_OF[reason],
      reason,
      summary: `${path.basename(first.file)} line ${first.line} at ${when}: ${describeEvent(first)}${retried}; ${where}`,
      hint: HINTS[reason],
      events: g.slice(0, MAX_FINDING_EVENTS).map((x) => note(x.e, x.offset)),
      ...(g.length > MAX_FINDING_EVENTS ? { events_omitted: g.length - MAX_FINDING_EVENTS } : {}),
    });
  }
  return out;
}

/** the run's verdict when logs were read: from the captures' servers, or from the logs alone when no capture */
export function verdictWithLogs(servers: ServerResult[], la: LogAnalysis | undefined): { verdict: Verdict; reason: Reason; summary: string } {
  const o = overallVerdict(servers);
  if (!la || servers.length > 0 || la.findings.length === 0) return o;
  const order: Verdict[] = ['transport', 'tls', 'application', 'inconclusive', 'healthy'];
  const f = [...la.findings].sort((a, b) => order.indexOf(a.verdict) - order.indexOf(b.verdict))[0]!;
  if (!la.logs_only) return { verdict: o.verdict, reason: o.reason, summary: `${o.summary}; the logs: ${f.summary}` };
  return { verdict: f.verdict, reason: f.reason, summary: `from the logs: ${f.summary}` };
}

/** the host of a logged URL or address: https://10.1.1.1:8443/x -> 10.1.1.1, [fd00::5]:8443 -> fd00::5 */
function urlHost(u: string): string {
  const h = u.replace(/^[a-z]+:\/\//i, '').replace(/[/?#].*$/, '');
  const v6 = /^\[([^\]]+)\]/.exec(h);
  return (v6 ? v6[1]! : h.replace(/:\d+$/, '')).toLowerCase();
}

/**
 * vManage logs the SSM On-Prem server it uses (clientUrl) and its proxy: a capture whose connections go
 * elsewhere, or that shows no proxy where one is set (or a proxy where none is), was taken at the wrong
 * place or vManage points at the wrong server.
 */
function settingsNotes(analyses: CaptureAnalysis[], files: LogFile[]): string[] {
  const notes = new Set<string>();
  const servers = new Set(analyses.flatMap((a) => a.servers.map((s) => s.address.toLowerCase())));
  const roles = new Set(analyses.flatMap((a) => a.connections.map((c) => c.role)));
  if (servers.size === 0) return [];
  const isAddr = (h: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(':');
  for (const f of files) {
    for (const e of f.events) {
      const where = `${path.basename(e.file)} line ${e.line}`;
      if (e.kind === 'vmanage-server-url' && e.server_url) {
        const h = urlHost(e.server_url);
        if (isAddr(h) && !servers.has(h)) notes.add(`vManage uses SSM On-Prem at ${h} (${where}), but the capture shows connections to ${[...servers].join(', ')}: vManage points at another server, or the capture filtered the wrong address`);
        else if (!isAddr(h) && h) notes.add(`vManage uses SSM On-Prem at ${h} (${where}): check that the name resolves on vManage to ${[...servers].join(', ')}`);
      }
      if (e.kind === 'vmanage-proxy' && e.proxy_host !== undefined) {
        if (e.proxy_host && !roles.has('proxy-tunnel')) notes.add(`vManage is set to use the proxy ${e.proxy_host} (${where}), but the capture shows no CONNECT through a proxy`);
        if (!e.proxy_host && roles.has('proxy-tunnel')) notes.add(`vManage logs no proxy host (${where}), but the capture shows a CONNECT through a proxy`);
      }
    }
  }
  return [...notes].slice(0, 20);
}
