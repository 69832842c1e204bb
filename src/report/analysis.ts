/**
 * The analyze report as text (verdict first, then per server and per connection, then the checksum
 * note) and as one JSON document. Both pass through the redaction step.
 */
import picocolors from 'picocolors';
import { overallVerdict, type CaptureAnalysis, type ConnectionResult, type ServerResult } from '../diagnose/analyze.js';
import type { Reason, Verdict } from '../diagnose/hints.js';
import { redact } from './redact.js';
import { verdictWithLogs, type LogAnalysis } from '../diagnose/logs.js';
import { ladderAscii } from './ladder.js';
import { bracketHost, hostPort } from '../decode/addr.js';

/** colours always on: whether to colour is decided here (--color/--no-color, a TTY, NO_COLOR), not by picocolors' own guess */
const pc = picocolors.createColors(true);

export const EXIT_OF: Record<Verdict, number> = { healthy: 0, transport: 10, tls: 11, application: 12, inconclusive: 13 };

export interface RunReport {
  tool: { name: 'ssmcap'; version: string };
  verdict: Verdict;
  reason: Reason;
  summary: string;
  inputs: CaptureAnalysis['input'][];
  servers: ServerResult[];
  connections: ConnectionResult[];
  checksums: (CaptureAnalysis['checksums'][number] & { input: string })[];
  /** files in directories that were not read: not captures (counted), tcpdump texts beside their capture */
  skipped?: { files: number; text_beside_capture: { text: string; capture: string }[] };
  /** --log: each log read, its clock offset against the capture */
  logs?: LogAnalysis['logs'];
  /** --log: capture connections and log events on one clock (the capture's), in time order */
  timeline?: LogAnalysis['timeline'];
  timeline_omitted?: number;
  /** --log: log errors no connection of the capture explains (or, with no capture, the logs' own verdict) */
  log_findings?: LogAnalysis['findings'];
  log_findings_omitted?: number;
  /** --log: vManage's logged settings (server, proxy) against what the capture shows */
  log_notes?: string[];
}

export function buildReport(analyses: CaptureAnalysis[], version: string, logs?: LogAnalysis): RunReport {
  const servers = analyses.flatMap((a) => a.servers);
  const o = logs ? verdictWithLogs(servers, logs) : overallVerdict(servers);
  const withLogs = logs ? { logs: logs.logs, timeline: logs.timeline, timeline_omitted: logs.timeline_omitted, log_findings: logs.findings, log_findings_omitted: logs.findings_omitted, log_notes: logs.notes } : {};
  return {
    tool: { name: 'ssmcap', version },
    verdict: o.verdict,
    reason: o.reason,
    summary: o.summary,
    inputs: analyses.map((a) => a.input),
    servers,
    connections: analyses.flatMap((a) => a.connections),
    checksums: analyses.flatMap((a) => a.checksums.map((c) => ({ ...c, input: a.input.path }))),
    ...withLogs,
  };
}

/** one NDJSON line (type first), redacted */
export function ndjsonLine(rec: { type: string } & Record<string, unknown>, showSecrets = false): string {
  return (showSecrets ? JSON.stringify(rec) : redact(JSON.stringify(rec))) + '\n';
}

export function reportJson(r: RunReport): string {
  let out = '';
  writeReportJson(r, (t) => (out += t));
  return out;
}

/**
 * The JSON document in pieces of about 1 MiB, redacted piece by piece, as JSON.stringify(r, null, 2)
 * would print it: a large report (tens of thousands of checksum lines) is never one huge string.
 */
export function writeReportJson(r: RunReport, write: (text: string) => void, showSecrets = false): void {
  let buf: string[] = [];
  let size = 0;
  const put = (t: string) => {
    buf.push(t);
    size += t.length;
    if (size >= 1 << 20) flush();
  };
  const flush = () => {
    if (buf.length) write(showSecrets ? buf.join('') : redact(buf.join('')));
    buf = [];
    size = 0;
  };
  const entries = Object.entries(r).filter(([, v]) => v !== undefined && typeof v !== 'function');
  put('{\n');
  if (showSecrets) put(`  "secrets_shown": ${JSON.stringify(SECRETS_SHOWN)},\n`);
  entries.forEach(([k, v], i) => {
    const sep = i < entries.length - 1 ? ',' : '';
    if (Array.isArray(v) && v.length > 0) {
      // one element at a time, indented as inside the whole document
      put(`  ${JSON.stringify(k)}: [\n`);
      v.forEach((x, j) => put(`    ${(JSON.stringify(x, null, 2) ?? 'null').replace(/\n/g, '\n    ')}${j < v.length - 1 ? ',' : ''}\n`));
      put(`  ]${sep}\n`);
    } else put(`  ${JSON.stringify(k)}: ${JSON.stringify(v, null, 2).replace(/\n/g, '\n  ')}${sep}\n`);
  });
  put('}\n');
  flush();
}

const colorOf = (v: Verdict, color: boolean) => {
  if (!color) return (s: string) => s;
  return v === 'healthy' ? pc.green : v === 'inconclusive' ? pc.yellow : pc.red;
};

/** the line on top of an output that is not redacted (--show-secrets on the user's own terminal) */
export const SECRETS_SHOWN = 'SECRETS SHOWN (--show-secrets): this output is not redacted; do not share it';

export function reportText(r: RunReport, opts: { color?: boolean; showSecrets?: boolean; ladder?: boolean; width?: number } = {}): string {
  const color = opts.color ?? false;
  const bold = color ? pc.bold : (s: string) => s;
  const dim = color ? pc.dim : (s: string) => s;
  const L: string[] = [];
  if (opts.showSecrets) L.push(bold(color ? pc.red(SECRETS_SHOWN) : SECRETS_SHOWN));
  L.push(bold(colorOf(r.verdict, color)(`${r.verdict.toUpperCase()} (${r.reason})`)) + (r.summary ? `: ${r.summary}` : ''));
  const multi = r.inputs.length > 1;
  if (multi) {
    // a table across inputs first: which captures (which boxes) fail, and how
    L.push('');
    L.push(...inputTable(r));
  }
  for (const s of r.servers) {
    L.push('');
    const host = bracketHost(s.address);
    L.push(bold(`server ${host}:${s.port}`) + (multi ? dim(` (${s.input})`) : '') + `: ${colorOf(s.verdict, color)(`${s.verdict} / ${s.reason}`)}`);
    L.push(`  ${s.summary}`);
    for (const e of s.evidence.slice(0, 12)) L.push(dim(e.log ? '  log          ' : `  frame ${String(e.frame).padStart(5)}  `) + e.text);
    L.push(`  next step: ${s.hint}`);
    const listed = new Set(s.connections);
    const conns = r.connections.filter((c) => listed.has(c.id) && c.input === s.input);
    for (const c of conns) {
      const via = c.proxy ? ` via proxy ${c.proxy}` : c.role === 'proxy-upstream' ? ' (the proxy\'s own connection)' : '';
      const tls = c.tls?.version ? `, ${c.tls.version}${c.tls.handshake_complete ? '' : ' (handshake incomplete)'}` : '';
      L.push(`  conn ${c.client} -> ${c.server}${via}: ${c.conn_state} ${c.history || '-'}${tls}, frames ${c.first_frame}-${c.last_frame}, ${c.duration.toFixed(3)} s: ${c.verdict}/${c.reason}${c.inferred ? ' (inferred)' : ''}`);
      const dups = c.tcp ? c.tcp.orig.capture_duplicates + c.tcp.resp.capture_duplicates : 0;
      if (dups > 0) L.push(dim(`    ${dups} packet${dups > 1 ? 's' : ''} captured twice (seen on two interfaces): the copies are left out, not counted as retransmissions`));
      const d = c.tls?.decrypted;
      if (d) L.push(dim(`    decrypted ${d.decrypted} of ${d.records} TLS records${d.keylog ? ` with ${d.keylog}` : ''}${d.partial ? `, ${d.partial} cut (only their start read)` : ''}${d.failed - d.partial > 0 ? `, ${d.failed - d.partial} failed` : ''}${d.decrypted === 0 && d.problem ? `: ${d.problem}` : ''}`));
      if (opts.ladder && c.ladder) {
        const paint = (k: string, t: string) => (!color ? t : k === 'bad' ? pc.red(t) : k === 'tls' ? pc.cyan(t) : k === 'http' ? pc.magenta(t) : k === 'icmp' ? pc.yellow(t) : t);
        for (const line of ladderAscii(c, { width: (opts.width ?? 80) - 4, paint, clean: opts.showSecrets ? undefined : redact })) L.push(`    ${line}`);
        L.push('');
      }
    }
    if (s.connection_count > conns.length) L.push(dim(`  ... and ${s.connection_count - conns.length} more connections (counted in the verdict; --format ndjson lists every one)`));
  }
  if (r.servers.length === 0) {
    L.push('');
    L.push(r.inputs.length ? `no connection to the server port in ${r.inputs.map((i) => i.path).join(', ')}` : 'no capture given: the verdict comes from the logs alone');
  }
  for (const i of r.inputs) {
    // a capture with nothing to the port but address resolution going unanswered: say who was asked for
    if (r.servers.some((s) => s.input === i.path)) continue;
    for (const n of (i.unanswered_neighbors ?? []).slice(0, 3)) {
      const how = n.protocol === 'arp' ? 'ARP' : 'IPv6 neighbor discovery';
      L.push(`${multi ? `${i.path}: ` : ''}${how} for ${n.address} asked ${n.requests} times by ${n.asker} over ${n.duration.toFixed(1)} s (frames ${n.first_frame}-${n.last_frame}), never answered: if that is the SSM On-Prem server, it is down or not on this subnet and no SYN left (--server ${n.address} judges it)`);
    }
  }
  if (r.logs) logsText(r, L, dim);
  const notes = r.checksums.filter((c) => c.finding !== 'ok');
  if (notes.length) {
    L.push('');
    for (const c of notes) L.push(dim(`checksums${multi ? ` (${c.input})` : ''}: ${c.text}`));
  }
  for (const i of r.inputs) {
    if (i.error) L.push(dim(`input ${i.path}: ${i.error.message}`));
  }
  if (r.skipped && (r.skipped.files > 0 || r.skipped.text_beside_capture.length > 0)) {
    const parts = [];
    if (r.skipped.files) parts.push(`${r.skipped.files} file${r.skipped.files > 1 ? 's' : ''} that are not captures`);
    const b = r.skipped.text_beside_capture.length;
    if (b) parts.push(`${b} tcpdump text${b > 1 ? 's' : ''} beside the capture${b > 1 ? 's' : ''} printed from`);
    L.push(dim(`skipped: ${parts.join(', ')}`));
  }
  for (const i of r.inputs) {
    const k = i.keylog;
    if (!k) continue;
    const srcs = k.sources.map((x) => `${x.source} (${x.secrets} secret${x.secrets === 1 ? '' : 's'})`).join(', ');
    L.push(dim(`TLS decryption${multi ? ` (${i.path})` : ''}: key log ${srcs}; ${k.decrypted_connections} of ${k.connections} TLS connections decrypted${k.problems.length ? `; ${k.problems.length} key log line${k.problems.length > 1 ? 's' : ''} not understood` : ''}`));
  }
  const text = L.join('\n') + '\n';
  return opts.showSecrets ? text : redact(text);
}

/**
 * One row per input: its path, packets read, its verdict and reason (the lowest failing layer among its
 * servers, as for the run), and each server with its own verdict. Columns aligned; long paths are kept
 * whole (the table is for reading, and a path is what the user looks for).
 */
export function inputTable(r: RunReport): string[] {
  const head = ['input', 'packets', 'verdict', 'reason', 'servers'];
  const rows = r.inputs.map((i): string[] => {
    const ss = r.servers.filter((s) => s.input === i.path);
    const name = i.path_in_directory ?? i.path;
    if (!i.readable) return [name, String(i.packets), 'unreadable', String(i.error?.code ?? '-'), String(i.error?.message ?? '')];
    const o = overallVerdict(ss);
    const servers = ss.length ? ss.map((s) => `${hostPort(s.address, s.port)} ${s.verdict}/${s.reason}${s.connection_count > 1 ? ` (${s.connection_count} conns)` : ''}`).join(', ') : 'no connection to the server port';
    return [name, String(i.packets), o.verdict, o.reason, servers + (i.error ? `; reading stopped early (${String(i.error.code)}, byte ${String(i.error.offset)})` : '')];
  });
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((x) => x[c]!.length)));
  const line = (x: string[]) =>
    '  ' +
    x
      .map((v, c) => (c === x.length - 1 ? v : c === 1 ? v.padStart(w[c]!) : v.padEnd(w[c]!)))
      .join('  ')
      .trimEnd();
  const dirs = [...new Set(r.inputs.map((i) => i.directory).filter((d): d is string => !!d))];
  const out = [line(head.map((h) => h.toUpperCase())), ...rows.map(line)];
  if (dirs.length) out.push(`  (paths inside ${dirs.join(', ')})`);
  return out;
}

/** --log: each log, the timeline of connections and log lines on the capture's clock, unexplained errors */
function logsText(r: RunReport, L: string[], dim: (s: string) => string): void {
  L.push('');
  L.push('logs:');
  for (const l of r.logs ?? []) {
    const off = l.offset_seconds === null ? 'no line matched a connection (clock offset unknown)' : l.offset_seconds === 0 ? `clock agrees with the capture (${l.offset_pairs} request lines placed), ${l.matched} lines matched to connections` : `clock ${Math.abs(l.offset_seconds).toFixed(1)} s ${l.offset_seconds > 0 ? 'ahead of' : 'behind'} the capture (from ${l.offset_pairs} request lines), ${l.matched} lines matched to connections`;
    L.push(`  ${l.path}: ${l.kind}${l.compression ? ' (gzip)' : ''}, ${l.lines} lines, ${l.parsed} events, ${l.skipped} skipped${l.unrecognized ? ` (${l.unrecognized} of no known format)` : ''}; times in ${l.tz.join(', ') || '-'}; ${off}`);
    if (l.error) L.push(dim(`    ${l.error}`));
  }
  const tl = r.timeline ?? [];
  if (tl.length) {
    L.push('');
    L.push("timeline (UTC, the capture's clock; log times corrected by their offset):");
    const shown = tl.slice(0, 200);
    // the day once when all is on one day, else on every line
    const days = new Set(tl.map((t) => t.time.slice(0, 10)));
    if (days.size === 1) L.push(dim(`  ${[...days][0]}`));
    for (const t of shown) {
      const where = t.source === 'capture' ? `frame ${String(t.frame).padStart(5)}` : `${shortPath(t.file ?? '')}:${t.line}`;
      const when = days.size === 1 ? t.time.slice(11, 23) : `${t.time.slice(0, 10)} ${t.time.slice(11, 23)}`;
      L.push(`  ${when}  ${where.padEnd(24)}  ${t.text}`);
    }
    const more = tl.length - shown.length + (r.timeline_omitted ?? 0);
    if (more > 0) L.push(dim(`  ... and ${more} more (--format json lists them)`));
  }
  for (const f of r.log_findings ?? []) {
    L.push('');
    L.push(`log: ${f.verdict} / ${f.reason}: ${f.summary}`);
    for (const e of f.events.slice(0, 6)) L.push(dim(`  ${shortPath(e.file)}:${e.line}  `) + redact(e.text).slice(0, 240));
    L.push(`  next step: ${f.hint}`);
  }
  for (const n of r.log_notes ?? []) L.push(`log: ${n}`);
  if (r.log_findings_omitted) L.push(dim(`... and ${r.log_findings_omitted} more bursts of log errors with no connection (--format json lists the first 100)`));
}

function shortPath(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] ?? p;
}
