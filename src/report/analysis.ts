/**
 * The analyze report as text (verdict first, then per server and per connection, then the checksum
 * note) and as one JSON document. Both pass through the redaction step.
 */
import picocolors from 'picocolors';
import { overallVerdict, type CaptureAnalysis, type ConnectionResult, type ServerResult } from '../diagnose/analyze.js';
import type { Reason, Verdict } from '../diagnose/hints.js';
import { redact } from './redact.js';
import { ladderAscii } from './ladder.js';

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
}

export function buildReport(analyses: CaptureAnalysis[], version: string): RunReport {
  const servers = analyses.flatMap((a) => a.servers);
  const o = overallVerdict(servers);
  return {
    tool: { name: 'ssmcap', version },
    verdict: o.verdict,
    reason: o.reason,
    summary: o.summary,
    inputs: analyses.map((a) => a.input),
    servers,
    connections: analyses.flatMap((a) => a.connections),
    checksums: analyses.flatMap((a) => a.checksums.map((c) => ({ ...c, input: a.input.path }))),
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
    // one line per input and server first: which captures (which boxes) fail, and how
    L.push('');
    const rows = r.inputs.map((i) => {
      const ss = r.servers.filter((s) => s.input === i.path);
      const what = ss.length ? ss.map((s) => `${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port} ${s.verdict}/${s.reason}`).join(', ') : i.readable ? 'no connection to the server port' : `unreadable: ${i.error?.message ?? ''}`;
      return [i.path, what] as const;
    });
    const w = Math.min(60, Math.max(...rows.map((x) => x[0].length)));
    for (const [p, what] of rows) L.push(`  ${p.padEnd(w)}  ${what}`);
  }
  for (const s of r.servers) {
    L.push('');
    const host = s.address.includes(':') ? `[${s.address}]` : s.address;
    L.push(bold(`server ${host}:${s.port}`) + (multi ? dim(` (${s.input})`) : '') + `: ${colorOf(s.verdict, color)(`${s.verdict} / ${s.reason}`)}`);
    L.push(`  ${s.summary}`);
    for (const e of s.evidence.slice(0, 12)) L.push(dim(`  frame ${String(e.frame).padStart(5)}  `) + e.text);
    L.push(`  next step: ${s.hint}`);
    const listed = new Set(s.connections);
    const conns = r.connections.filter((c) => listed.has(c.id) && c.input === s.input);
    for (const c of conns) {
      const via = c.proxy ? ` via proxy ${c.proxy}` : c.role === 'proxy-upstream' ? ' (the proxy\'s own connection)' : '';
      const tls = c.tls?.version ? `, ${c.tls.version}${c.tls.handshake_complete ? '' : ' (handshake incomplete)'}` : '';
      L.push(`  conn ${c.client} -> ${c.server}${via}: ${c.conn_state} ${c.history || '-'}${tls}, frames ${c.first_frame}-${c.last_frame}, ${c.duration.toFixed(3)} s: ${c.verdict}/${c.reason}${c.inferred ? ' (inferred)' : ''}`);
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
    L.push(`no connection to the server port in ${r.inputs.map((i) => i.path).join(', ')}`);
  }
  const notes = r.checksums.filter((c) => c.finding !== 'ok');
  if (notes.length) {
    L.push('');
    for (const c of notes) L.push(dim(`checksums${multi ? ` (${c.input})` : ''}: ${c.text}`));
  }
  for (const i of r.inputs) {
    if (i.error) L.push(dim(`input ${i.path}: ${i.error.message}`));
  }
  const text = L.join('\n') + '\n';
  return opts.showSecrets ? text : redact(text);
}
