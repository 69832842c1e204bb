/**
 * vManage and SSM On-Prem logs, read beside the capture: vmanage-server.log (JBoss lines with a time zone
 * abbreviation), SSM On-Prem's syslog (/var/log/messages: Rails request lines, the nginx access and error
 * logs of its containers), and bare nginx access/error logs. The kind of each line is told by its
 * content, never by the file name. Files are streamed line by line (readline; gzip by its magic); only the
 * lines that say something about the license sync are kept as events, everything else is counted.
 * A cut line, bytes in another encoding or a gzip stream that ends early never stop the run.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

export type LogSource = 'vmanage' | 'ssm';

export type LogEventKind =
  /** RestAPIClient: `Failed to process POST request uri: ... Code: 403 Message: {...}` */
  | 'vmanage-request-failed'
  /** `Failed to authenticate user - 'x'`, `Smart Account User Authentication failed` */
  | 'vmanage-auth-failed'
  /** SmartLicensingUtil: `URL backend/oauth/token?...`, `Query Smart Account: ...` (the call about to be sent) */
  | 'vmanage-token-request'
  /** on-prem mode: `user is using in On Prem mode`, `Found smart licensing mode is onprem`, ... */
  | 'vmanage-onprem-mode'
  /** SmartLicensingUtil: `intializing client Map {clientUrl=...}` (the SSM On-Prem server vManage uses) */
  | 'vmanage-server-url'
  /** RestAPIClient: `RestAPI proxy host X` / `RestAPI proxy port Y` */
  | 'vmanage-proxy'
  /** another ERROR line of vManage (also one cut before its message could be read) */
  | 'vmanage-error'
  /** SSM On-Prem Rails request line: `method=POST path=/oauth/token ... status=403 duration=4.21` */
  | 'ssm-request'
  /** nginx access line: `client - - [13/Jan/2023:11:17:01 +0000] "POST /backend/oauth/token?... HTTP/1.1" 403 121 ...` */
  | 'ssm-access'
  /** nginx could not reach SSM's own backend: connect() failed, upstream timed out, temporarily disabled, ... */
  | 'ssm-upstream-failed'
  /** another nginx [error]/[crit]/[alert]/[emerg] line */
  | 'ssm-nginx-error';

export interface LogEvent {
  file: string;
  /** 1-based line number in the (decompressed) file */
  line: number;
  kind: LogEventKind;
  source: LogSource;
  /** UTC epoch seconds by the log's own clock, or null when the stamp could not be read */
  time: number | null;
  /** the time stamp as written */
  stamp: string;
  level?: string;
  /** the client address the SSM side saw (nginx, Rails) */
  client?: string;
  method?: string;
  /** request path (with its query as written; redacted on output) */
  path?: string;
  status?: number;
  /** OAuth error word (invalid_client, invalid_grant, ...) */
  error?: string;
  description?: string;
  user?: string;
  server_url?: string;
  proxy_host?: string;
  proxy_port?: string;
  upstream?: string;
  /** what failed, in nginx's words */
  detail?: string;
  /** the line, as written (at most MAX_TEXT characters); redacted only on output */
  text: string;
  /** the line ended before its message could be read in full */
  cut?: boolean;
  /** set when the year came from elsewhere (syslog stamps carry none): month, day, seconds of day, offset minutes */
  yearless?: { month: number; day: number; sec: number; off: number };
}

export type LogFileKind = 'vmanage-server' | 'ssm-syslog' | 'nginx-access' | 'nginx-error' | 'mixed' | 'unknown';

export interface LogFile {
  path: string;
  kind: LogFileKind;
  compression: 'gzip' | null;
  lines: number;
  /** lines that became events */
  parsed: number;
  /** lines read but not kept: other messages of a known format, and lines of no known format */
  skipped: number;
  /** of the skipped, lines of no known format at all */
  unrecognized: number;
  /** events not kept past MAX_EVENTS (counted in parsed) */
  dropped: number;
  /** time zones the stamps were read in, e.g. `IST (+05:30)`, `+0000`, `UTC (--log-tz)` */
  tz: string[];
  /** why reading stopped early (the events read before are kept), or null */
  error: string | null;
  events: LogEvent[];
}

export interface LogReadOptions {
  /** time zone of stamps that carry none (syslog, nginx error): `UTC` (default), `+05:30`, `IST`, `Asia/Kolkata` */
  tz?: string;
  /** year of syslog stamps until resolveLogYears() puts the capture's: default the current UTC year */
  year?: number;
}

const MAX_TEXT = 4000;
const MAX_EVENTS = 50_000;
const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };

/** time zone abbreviations seen in vManage logs, in minutes east of UTC (IST: India, as vManage in India writes it) */
export const TZ_ABBREVIATIONS: Record<string, number> = {
  UTC: 0, GMT: 0, Z: 0, WET: 0, WEST: 60, BST: 60, CET: 60, CEST: 120, MET: 60, MEST: 120, EET: 120, EEST: 180, MSK: 180,
  IST: 330, PKT: 300, NPT: 345, BDT: 360, ICT: 420, WIB: 420, SGT: 480, HKT: 480, AWST: 480, PHT: 480, KST: 540, JST: 540,
  ACST: 570, ACDT: 630, AEST: 600, AEDT: 660, NZST: 720, NZDT: 780, HST: -600, AKST: -540, AKDT: -480, PST: -480, PDT: -420,
  MST: -420, MDT: -360, CST: -360, CDT: -300, EST: -300, EDT: -240, AST: -240, ADT: -180, NST: -210, NDT: -150, BRT: -180, ART: -180,
};

/** a time zone: a fixed offset, or an IANA zone whose offset depends on the date */
export type TimeZone = { name: string; fixed: number } | { name: string; iana: string };

/** `UTC`, `IST`, `+05:30`, `-0800`, `+5`, `UTC+05:30`, or an IANA name (`Asia/Kolkata`); null when not a zone */
export function parseTimeZone(s: string): TimeZone | null {
  const t = s.trim();
  const abbr = TZ_ABBREVIATIONS[t.toUpperCase()];
  if (abbr !== undefined) return { name: t.toUpperCase(), fixed: abbr };
  const m = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d\d))?$/i.exec(t);
  if (m) {
    const min = Number(m[2]) * 60 + Number(m[3] ?? 0);
    if (min > 14 * 60) return null;
    return { name: t, fixed: m[1] === '-' ? -min : min };
  }
  if (/^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)+$/.test(t)) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: t });
      return { name: t, iana: t };
    } catch {
      return null;
    }
  }
  return null;
}

const ianaFormatters = new Map<string, Intl.DateTimeFormat>();
/** minutes east of UTC of an IANA zone at a UTC instant (ms) */
function ianaOffsetAt(zone: string, ms: number): number {
  let f = ianaFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    ianaFormatters.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(ms))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!);
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
}

/** minutes east of UTC for a wall-clock time (as if UTC, ms) in this zone */
export function zoneOffset(tz: TimeZone, wallMs: number): number {
  if ('fixed' in tz) return tz.fixed;
  let off = ianaOffsetAt(tz.iana, wallMs);
  off = ianaOffsetAt(tz.iana, wallMs - off * 60000);
  return off;
}

function fmtOffset(min: number): string {
  const a = Math.abs(min);
  return `${min < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** the leading address of a field as logged (the seed's `10.66.76.85https://10.66.76.85`, `::ffff:10.1.1.1`) */
function cleanAddr(s: string): string {
  const m = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})/i.exec(s) ?? /^\[?([0-9a-f]*:[0-9a-f:.]+)\]?/i.exec(s);
  return m ? m[1]!.toLowerCase() : s;
}

// ---- line formats

// 13-Jan-2023 17:29:03,490 IST ERROR [host] [Class] (thread) |default| message
const VMANAGE = /^(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d)(?:[,.](\d{1,3}))?(?: ([A-Za-z]{1,5}|[+-]\d\d:?\d\d))?\s+(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE)\b\s*(.*)$/;
const VMANAGE_REST = /^\[([^\]]*)\]\s*(?:\[([^\]]*)\]\s*)?(?:\([^)]*\)\s*)?(?:\|[^|]*\|\s*)?(.*)$/;
// Jan 13 11:17:01 host tag[pid]: message
const SYSLOG = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\S+) ([^\s:]+):\s?(.*)$/;
// 2023-01-13T11:17:01.123456+00:00 host tag: message (rsyslog's precise format)
const SYSLOG_ISO = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)? (\S+) ([^\s:]+):\s?(.*)$/;
// nginx combined: client - user [13/Jan/2023:11:17:01 +0000] "POST /path HTTP/1.1" 403 121 ...
const NGINX_ACCESS = /^(\S+) \S+ \S+ \[(\d\d)\/([A-Za-z]{3})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-]\d{4})\] "(?:([A-Z]+) (\S+)(?: HTTP\/[\d.]+)?|[^"]*)"(?: (\d{3})(?: (\d+|-))?)?/;
// nginx error log: 2023/07/13 11:17:01 [error] 47#47: *1576 message
const NGINX_ERROR = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$/;
// Rails lograge: method=POST path=/oauth/token format=json controller=... status=403 duration=4.21
const RAILS = /(?:^|\s)method=([A-Z]+) path=(\S+)/;
const UPSTREAM_FAIL = /(connect\(\) failed \([^)]*\)|upstream timed out(?: \([^)]*\))?|no live upstreams|upstream prematurely closed connection|upstream server temporarily disabled|recv\(\) failed \([^)]*\))[^,]*(?:while [^,]*upstream)?/;

interface Stamp {
  time: number;
  tz: string;
}

class LineParser {
  readonly tz: TimeZone;
  readonly tzUsed = new Set<string>();
  readonly kinds = new Map<LogFileKind, number>();
  year: number;

  constructor(
    readonly file: string,
    opts: LogReadOptions,
  ) {
    const tz = parseTimeZone(opts.tz ?? 'UTC');
    this.tz = tz ?? { name: 'UTC', fixed: 0 };
    this.year = opts.year ?? new Date().getUTCFullYear();
  }

  /** a wall time in the default zone (--log-tz) */
  private local(y: number, mo: number, d: number, h: number, mi: number, s: number, ms = 0): Stamp {
    const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
    const off = zoneOffset(this.tz, wall);
    return { time: (wall - off * 60000) / 1000, tz: `${this.tz.name}${'iana' in this.tz || this.tz.fixed !== 0 ? ` (${fmtOffset(off)})` : ''} (--log-tz)` };
  }

  private zoned(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, zone: string | undefined): Stamp {
    if (zone === undefined) return this.local(y, mo, d, h, mi, s, ms);
    const tz = parseTimeZone(zone);
    if (!tz) return this.local(y, mo, d, h, mi, s, ms);
    const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
    const off = zoneOffset(tz, wall);
    return { time: (wall - off * 60000) / 1000, tz: /^[+-]/.test(zone) ? zone : `${zone} (${fmtOffset(off)})` };
  }

  private count(k: LogFileKind): void {
    this.kinds.set(k, (this.kinds.get(k) ?? 0) + 1);
  }

  /** an event, or 'known' (a line of a known format that says nothing of interest), or null (unknown) */
  parse(raw: string, lineNo: number): LogEvent | 'known' | null {
    const line = raw.length > MAX_TEXT ? raw.slice(0, MAX_TEXT) : raw;
    let m = VMANAGE.exec(line);
    if (m) {
      this.count('vmanage-server');
      const mo = MONTHS[m[2]!.toLowerCase()];
      if (!mo) return null;
      const st = this.zoned(+m[3]!, mo, +m[1]!, +m[4]!, +m[5]!, +m[6]!, Number((m[7] ?? '0').padEnd(3, '0')), m[8]);
      return this.vmanage(line, lineNo, st, `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}${m[7] ? `,${m[7]}` : ''}${m[8] ? ` ${m[8]}` : ''}`, m[9]!, m[10]!);
    }
    m = SYSLOG.exec(line);
    if (m) {
      this.count('ssm-syslog');
      const mo = MONTHS[m[1]!.toLowerCase()];
      if (!mo) return null;
      const day = +m[2]!.trim();
      const sec = +m[3]! * 3600 + +m[4]! * 60 + +m[5]!;
      const st = this.local(this.year, mo, day, +m[3]!, +m[4]!, +m[5]!);
      const ev = this.ssm(m[8]!, line, lineNo, { ...st, stamp: `${m[1]} ${m[2]} ${m[3]}:${m[4]}:${m[5]}` }, true);
      if (ev && ev !== 'known' && ev.yearless === undefined && ev.stamp.startsWith(m[1]!)) {
        ev.yearless = { month: mo, day, sec, off: Math.round((Date.UTC(this.year, mo - 1, day) / 1000 + sec - st.time) / 60) };
      }
      return ev ?? 'known';
    }
    m = SYSLOG_ISO.exec(line);
    if (m) {
      this.count('ssm-syslog');
      const st = this.zoned(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!, Number((m[7] ?? '0').slice(0, 3).padEnd(3, '0')), m[8] === 'Z' ? 'UTC' : m[8]);
      return this.ssm(m[11]!, line, lineNo, { ...st, stamp: line.slice(0, line.indexOf(' ')) }, true) ?? 'known';
    }
    // bare nginx or Rails lines (their own files, or pasted)
    return this.ssm(line, line, lineNo, null, false);
  }

  private base(line: string, lineNo: number, kind: LogEventKind, source: LogSource, st: { time: number; tz: string; stamp: string } | null): LogEvent {
    if (st) this.tzUsed.add(st.tz);
    return { file: this.file, line: lineNo, kind, source, time: st ? st.time : null, stamp: st?.stamp ?? '', text: line };
  }

  private vmanage(line: string, lineNo: number, st: Stamp, stamp: string, level: string, rest: string): LogEvent | 'known' {
    const r = VMANAGE_REST.exec(rest);
    const cls = r?.[2] ?? '';
    const msg = r ? r[3]! : rest;
    const s = { ...st, stamp };
    const lvl = level === 'WARNING' ? 'WARN' : level === 'SEVERE' ? 'ERROR' : level;
    let m = /Failed to process (\w+) request uri:\s*(\S+)(?:[\s\S]*?Code:\s*(\d{3}))?(?:[\s\S]*?Message:\s*(.*))?/.exec(msg);
    if (m) {
      const ev = this.base(line, lineNo, 'vmanage-request-failed', 'vmanage', s);
      ev.level = lvl;
      ev.method = m[1];
      ev.path = m[2];
      if (m[3]) ev.status = Number(m[3]);
      if (m[4]) oauthError(ev, m[4]);
      if (!m[3]) ev.cut = true;
      return ev;
    }
    m = /Failed to authenticate user - '([^']*)'?/.exec(msg);
    if (m || /Smart Account User Authentication failed|Failed to authenticate Smart Account/.test(msg)) {
      const ev = this.base(line, lineNo, 'vmanage-auth-failed', 'vmanage', s);
      ev.level = lvl;
      if (m) ev.user = m[1];
      oauthError(ev, msg);
      return ev;
    }
    m = /(?:^URL|Query Smart Account:)\s+(\S*oauth\/token\S*)/.exec(msg);
    if (m) {
      const ev = this.base(line, lineNo, 'vmanage-token-request', 'vmanage', s);
      ev.level = lvl;
      ev.method = 'POST';
      ev.path = m[1];
      return ev;
    }
    m = /clientUrl=([^,}\s]+)/.exec(msg);
    if (m) {
      const ev = this.base(line, lineNo, 'vmanage-server-url', 'vmanage', s);
      ev.level = lvl;
      ev.server_url = m[1]!.replace(/^(\d{1,3}(?:\.\d{1,3}){3})https?:\/\/.*$/, '$1');
      return ev;
    }
    m = /RestAPI proxy (host|port)\b[\s:=]*(\S*)/.exec(msg);
    if (m) {
      const ev = this.base(line, lineNo, 'vmanage-proxy', 'vmanage', s);
      ev.level = lvl;
      if (m[1] === 'host') ev.proxy_host = m[2] || '';
      else ev.proxy_port = m[2] || '';
      return ev;
    }
    if (/On ?Prem mode|mode is onprem|Authenticating on-prem server|onPrem server details/i.test(msg)) {
      const ev = this.base(line, lineNo, 'vmanage-onprem-mode', 'vmanage', s);
      ev.level = lvl;
      return ev;
    }
    if (lvl === 'ERROR' || lvl === 'FATAL') {
      const ev = this.base(line, lineNo, 'vmanage-error', 'vmanage', s);
      ev.level = lvl;
      if (cls === '' || msg.length < 16) ev.cut = true;
      oauthError(ev, msg);
      return ev;
    }
    return 'known';
  }

  /** SSM On-Prem's messages (inside syslog or bare); `st` is the syslog stamp when there is one */
  private ssm(msg: string, line: string, lineNo: number, st: { time: number; tz: string; stamp: string } | null, inSyslog: boolean): LogEvent | 'known' | null {
    let m = NGINX_ACCESS.exec(msg);
    if (m) {
      if (!inSyslog) this.count('nginx-access');
      const mo = MONTHS[m[3]!.toLowerCase()];
      if (!mo) return inSyslog ? 'known' : null;
      // the access line's own stamp carries the year and the zone: it wins over syslog's
      const own = this.zoned(+m[4]!, mo, +m[2]!, +m[5]!, +m[6]!, +m[7]!, 0, m[8]);
      const ev = this.base(line, lineNo, 'ssm-access', 'ssm', { ...own, stamp: `${m[2]}/${m[3]}/${m[4]}:${m[5]}:${m[6]}:${m[7]} ${m[8]}` });
      ev.client = cleanAddr(m[1]!);
      if (m[9]) ev.method = m[9];
      if (m[10]) ev.path = m[10];
      if (m[11]) ev.status = Number(m[11]);
      else ev.cut = true;
      return ev;
    }
    m = NGINX_ERROR.exec(msg);
    if (m) {
      if (!inSyslog) this.count('nginx-error');
      const level = m[7]!;
      const text = m[8]!;
      const up = UPSTREAM_FAIL.exec(text);
      if (!up && !/^(error|crit|alert|emerg)$/.test(level)) return 'known';
      // inside syslog the syslog stamp is the host's clock as written to the log; bare: nginx's own, in --log-tz
      const s = st ?? { ...this.local(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!), stamp: msg.slice(0, 19) };
      const ev = this.base(line, lineNo, up ? 'ssm-upstream-failed' : 'ssm-nginx-error', 'ssm', s);
      ev.level = level;
      if (up) ev.detail = up[1]!;
      const c = /\bclient: ([^,\s]+)/.exec(text);
      if (c) ev.client = cleanAddr(c[1]!);
      const rq = /\brequest: "([A-Z]+) (\S+)/.exec(text);
      if (rq) {
        ev.method = rq[1];
        ev.path = rq[2];
      }
      const u = /\bupstream: "?([^",\s]+)/.exec(text);
      if (u) ev.upstream = u[1];
      if (!/\bhost: /.test(text)) ev.cut = true;
      return ev;
    }
    m = RAILS.exec(msg);
    if (m) {
      if (!inSyslog) this.count('ssm-syslog');
      // bare Rails lines carry time=ISO; inside syslog the syslog stamp
      let s = st;
      if (!s) {
        const t = /\btime=(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(Z|[+-]\d\d:?\d\d)?/.exec(msg);
        if (!t) return null;
        s = { ...this.zoned(+t[1]!, +t[2]!, +t[3]!, +t[4]!, +t[5]!, +t[6]!, 0, t[7] === 'Z' ? 'UTC' : t[7]), stamp: t[0].slice(5) };
      }
      const ev = this.base(line, lineNo, 'ssm-request', 'ssm', s);
      ev.method = m[1];
      ev.path = m[2];
      const status = /\bstatus=(\d{3})\b/.exec(msg);
      if (status) ev.status = Number(status[1]);
      else ev.cut = true;
      const ip = /\bclient_ip=(\S+)/.exec(msg) ?? /\bremote_ip=(\S+)/.exec(msg);
      if (ip) ev.client = cleanAddr(ip[1]!);
      const d = /\bduration=([\d.]+)/.exec(msg);
      if (d) ev.detail = `duration ${d[1]} ms`;
      oauthError(ev, msg);
      return ev;
    }
    return inSyslog ? 'known' : null;
  }

  fileKind(): LogFileKind {
    const ks = [...this.kinds.entries()].filter(([, n]) => n > 0);
    if (ks.length === 0) return 'unknown';
    if (ks.length === 1) return ks[0]![0];
    const ssmOnly = ks.every(([k]) => k !== 'vmanage-server');
    return ssmOnly ? 'ssm-syslog' : 'mixed';
  }
}

/** the OAuth error of an answer as logged: {"error":"invalid_client","error_message":"Grant not found..."} */
function oauthError(ev: LogEvent, text: string): void {
  // only a whole word: a line cut inside it tells nothing
  const e = /"error"\s*:\s*"([a-z_]+)"/.exec(text);
  if (e) ev.error = e[1];
  const d = /"(?:error_message|error_description|message)"\s*:\s*"([^"]*)("?)/.exec(text);
  if (d) ev.description = d[2] ? d[1] : `${d[1]}...`;
  if (/"error"\s*:\s*"[a-z_]*$/.test(text)) ev.cut = true;
}

/** files of a --log argument: the file itself, or what a directory holds (recursively, sorted) */
export async function expandLogInputs(args: string[]): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = async (p: string): Promise<void> => {
    let st;
    try {
      st = await fsp.stat(p);
    } catch {
      missing.push(p);
      return;
    }
    if (!st.isDirectory()) {
      files.push(p);
      return;
    }
    const names = (await fsp.readdir(p)).sort();
    for (const n of names) await walk(path.join(p, n));
  };
  for (const a of args) await walk(a);
  return { files, missing };
}

/** is this chunk text (no NUL bytes in its first bytes) */
function looksBinary(b: Uint8Array): boolean {
  const n = Math.min(b.length, 4096);
  for (let i = 0; i < n; i++) if (b[i] === 0) return true;
  return false;
}

/** read one log file (or gzip of one), streaming; never throws for bad content */
export async function readLogFile(file: string, opts: LogReadOptions = {}): Promise<LogFile> {
  const out: LogFile = { path: file, kind: 'unknown', compression: null, lines: 0, parsed: 0, skipped: 0, unrecognized: 0, dropped: 0, tz: [], error: null, events: [] };
  let head: Uint8Array;
  try {
    const fh = await fsp.open(file, 'r');
    try {
      head = new Uint8Array(4096);
      const { bytesRead } = await fh.read(head, 0, 4096, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    out.error = `${file}: byte 0: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    return out;
  }
  const gz = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  if (gz) out.compression = 'gzip';
  else if (looksBinary(head)) {
    out.error = `${file}: byte 0: not a text log (binary content)`;
    return out;
  }
  const parser = new LineParser(file, opts);
  const raw = fs.createReadStream(file);
  let input: Readable = raw;
  if (gz) input = raw.pipe(createGunzip());
  let firstBinary = gz;
  await new Promise<void>((resolve) => {
    const rl = readline.createInterface({ input, crlfDelay: Infinity });
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        resolve();
      }
    };
    const fail = (e: Error) => {
      if (!out.error) out.error = `${file}: line ${out.lines + 1}${gz ? ` (byte ${raw.bytesRead} of the gzip file)` : ''}: ${gz ? 'gzip stream: ' : ''}${e.message}`;
      rl.close();
      finish();
    };
    raw.on('error', fail);
    if (input !== raw) input.on('error', fail);
    // readline passes its input's errors on: caught here too, or they would be uncaught
    rl.on('error', fail);
    rl.on('line', (l) => {
      out.lines++;
      let line = l;
      if (out.lines === 1) {
        line = line.replace(/^\uFEFF/, '');
        if (firstBinary && line.includes('\u0000')) {
          out.error = `${file}: byte 0: not a text log (binary content inside the gzip stream)`;
          rl.close();
          input.destroy();
          finish();
          return;
        }
        firstBinary = false;
      }
      line = line.trimEnd();
      const ev = parser.parse(line, out.lines);
      if (ev === null || ev === 'known') {
        out.skipped++;
        if (ev === null && line.length > 0) out.unrecognized++;
        return;
      }
      out.parsed++;
      if (out.events.length < MAX_EVENTS) out.events.push(ev);
      else out.dropped++;
    });
    rl.on('close', finish);
  });
  out.kind = parser.fileKind();
  out.tz = [...parser.tzUsed];
  return out;
}

/** read every --log argument (files and directories) */
export async function readLogs(args: string[], opts: LogReadOptions = {}): Promise<{ files: LogFile[]; missing: string[] }> {
  const { files, missing } = await expandLogInputs(args);
  const out: LogFile[] = [];
  for (const f of files) out.push(await readLogFile(f, opts));
  return { files: out, missing };
}

/**
 * Syslog stamps carry no year: put them in the year of the file's own dated lines (nginx access lines
 * inside the same syslog carry one), else in `year` (the capture's), or in the year before when that date
 * would lie more than 6 months after `reference` (a December log beside a January capture).
 */
export function resolveLogYears(files: LogFile[], year: number, reference?: number): void {
  for (const f of files) {
    const years = new Map<number, number>();
    for (const ev of f.events) if (ev.time !== null && !ev.yearless) {
      const y = new Date(ev.time * 1000).getUTCFullYear();
      years.set(y, (years.get(y) ?? 0) + 1);
    }
    const own = [...years.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    if (own !== undefined) {
      for (const ev of f.events) {
        const y = ev.yearless;
        if (y) ev.time = Date.UTC(own, y.month - 1, y.day) / 1000 + y.sec - y.off * 60;
      }
      continue;
    }
    for (const ev of f.events) {
      const y = ev.yearless;
      if (!y) continue;
      let t = Date.UTC(year, y.month - 1, y.day) / 1000 + y.sec - y.off * 60;
      if (reference !== undefined && t - reference > 183 * 86400) t = Date.UTC(year - 1, y.month - 1, y.day) / 1000 + y.sec - y.off * 60;
      ev.time = t;
    }
  }
}

/** the UTC day (YYYY-MM-DD) most of the dated log events fall on (year-less stamps not counted), or null */
export function logsDay(files: LogFile[]): string | null {
  const days = new Map<string, number>();
  for (const f of files) for (const ev of f.events) if (ev.time !== null && !ev.yearless) {
    const d = new Date(ev.time * 1000).toISOString().slice(0, 10);
    days.set(d, (days.get(d) ?? 0) + 1);
  }
  let best: string | null = null;
  for (const [d, n] of days) if (best === null || n > days.get(best)!) best = d;
  return best;
}
