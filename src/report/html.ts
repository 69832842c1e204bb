/**
 * The analyze report as one self-contained HTML file to forward to the SSM team or a customer: inline
 * CSS and SVG, no script, no font or image from anywhere. Per server the verdict banner, reason,
 * summary, next step and evidence with frame numbers; per connection a ladder diagram (SVG that scales
 * to the page: readable on a phone and printed); the inputs; the checksum note. Every string from the
 * capture passes the redaction step, then HTML escaping, on its way in.
 */
import type { ConnectionResult, ServerResult } from '../diagnose/analyze.js';
import type { Verdict } from '../diagnose/hints.js';
import type { RunReport } from './analysis.js';
import { SECRETS_SHOWN } from './analysis.js';
import { ladderLayout, type LadderNote } from './ladder.js';
import { redact } from './redact.js';
import { hostPort } from '../decode/addr.js';

export interface HtmlOptions {
  /** no redaction (the CLI allows it on the user's own terminal only) */
  showSecrets?: boolean;
}

const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--transport:#cf222e;--tls:#bc4c00;--application:#8250df;--inconclusive:#9a6700;--healthy:#1a7f37;--log:#1b7c83}
*{box-sizing:border-box}
body{margin:0 auto;max-width:980px;padding:12px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg);overflow-wrap:anywhere}
h1{font-size:1.35em;margin:.2em 0 .6em}h2{font-size:1.15em;margin:1.6em 0 .4em}h3{font-size:1em;margin:1.2em 0 .3em}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.banner{border-radius:6px;padding:10px 14px;margin:.6em 0;color:#fff;font-weight:600}
.banner .why{display:block;font-weight:400;margin-top:2px}
.v-transport{background:var(--transport)}.v-tls{background:var(--tls)}.v-application{background:var(--application)}.v-inconclusive{background:var(--inconclusive)}.v-healthy{background:var(--healthy)}
.warn{border:2px solid var(--transport);color:var(--transport);padding:8px 12px;border-radius:6px;font-weight:600}
.hint{border-left:4px solid var(--line);padding:4px 10px;margin:.6em 0;background:#f6f8fa}
.meta{color:var(--muted);font-size:.9em}
ol.evidence{padding-left:0;list-style:none}ol.evidence li{margin:2px 0}
.fr{display:inline-block;min-width:5.5em;color:var(--muted);font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:normal}
td.any{overflow-wrap:anywhere}details.steps{font-size:.9em;margin:.2em 0 .8em}details.steps summary{color:var(--muted);cursor:pointer}
svg.ladder{width:100%;height:auto;display:block;margin:.4em 0;max-width:min(100%,720px)}
svg.ladder text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.conn{border-top:1px solid var(--line);margin-top:1em}
tr.lognote td{color:var(--log)}.log-finding{border-left:4px solid var(--line);padding:2px 10px;margin:.6em 0}ul.log-events{margin:.2em 0;padding-left:1.2em;font-size:.9em}
@media print{body{max-width:none;font-size:10pt}.conn,.server-head{break-inside:avoid}.banner{print-color-adjust:exact;-webkit-print-color-adjust:exact}}
`;

const VERDICT_COLOR: Record<Verdict, string> = { transport: '#cf222e', tls: '#bc4c00', application: '#8250df', inconclusive: '#9a6700', healthy: '#1a7f37' };
/** log notes: neither a packet kind nor a verdict colour */
const LOG_COLOR = '#1b7c83';
const KIND_COLOR = { tcp: '#59636e', tls: '#0969da', http: '#8250df', icmp: '#bf8700', bad: '#cf222e' } as const;

/** the HTML document in pieces (one per server and connection), as the JSON writer does */
export function writeReportHtml(r: RunReport, write: (text: string) => void, opts: HtmlOptions = {}): void {
  const clean = opts.showSecrets ? (s: string) => s : redact;
  const esc = (s: string) => escapeHtml(clean(s));
  const multi = r.inputs.length > 1;
  write(`<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n`);
  write(`<title>ssmcap: ${esc(r.verdict)} (${esc(r.reason)})</title>\n<style>${CSS}</style>\n</head>\n<body>\n`);
  if (opts.showSecrets) write(`<p class="warn">${esc(SECRETS_SHOWN)}</p>\n`);
  write(`<h1>ssmcap report</h1>\n`);
  write(`<div class="banner v-${r.verdict}" id="verdict">${esc(r.verdict.toUpperCase())} (${esc(r.reason)})<span class="why">${esc(r.summary)}</span></div>\n`);
  write(`<p class="meta">${esc(r.inputs.map((i) => i.path).join(', '))} &middot; ${r.servers.length} server${r.servers.length === 1 ? '' : 's'}, ${r.connections.length} connection${r.connections.length === 1 ? '' : 's'} listed &middot; ${esc(r.tool.name)} ${esc(r.tool.version)}</p>\n`);
  if (r.servers.length === 0) write(`<p>No connection to the server port in ${esc(r.inputs.map((i) => i.path).join(', '))}.</p>\n`);
  for (const s of r.servers) {
    write(serverHtml(s, r.connections.filter((c) => c.input === s.input && s.connections.includes(c.id)), multi, esc, clean));
  }
  if (r.logs) write(logsHtml(r, esc, clean));
  write(inputsHtml(r, esc));
  write(checksumHtml(r, multi, esc));
  write(`</body>\n</html>\n`);
}

export function reportHtml(r: RunReport, opts: HtmlOptions = {}): string {
  let out = '';
  writeReportHtml(r, (t) => (out += t), opts);
  return out;
}

function serverHtml(s: ServerResult, conns: ConnectionResult[], multi: boolean, esc: (s: string) => string, clean: (s: string) => string): string {
  const L: string[] = [];
  L.push(`<section class="server">`);
  L.push(`<h2 class="server-head">Server ${esc(hostPort(s.address, s.port))}${multi ? ` <span class="meta">${esc(s.input)}</span>` : ''}</h2>`);
  L.push(`<div class="banner v-${s.verdict}">${esc(s.verdict)} / ${esc(s.reason)}<span class="why">${esc(s.summary)}</span></div>`);
  L.push(`<p class="hint"><strong>Next step:</strong> ${esc(s.hint)}</p>`);
  if (s.evidence.length) {
    L.push(`<h3>Evidence</h3>\n<ol class="evidence">`);
    for (const e of s.evidence) L.push(`<li><span class="fr">${e.log ? 'log' : `frame ${e.frame}`}</span> ${esc(e.text)}</li>`);
    L.push(`</ol>`);
  }
  for (const c of conns) L.push(connHtml(c, esc, clean));
  if (s.connection_count > conns.length) L.push(`<p class="meta">... and ${s.connection_count - conns.length} more connections (counted in the verdict; --format ndjson lists every one)</p>`);
  L.push(`</section>\n`);
  return L.join('\n');
}

function connHtml(c: ConnectionResult, esc: (s: string) => string, clean: (s: string) => string): string {
  const via = c.proxy ? ` via proxy ${c.proxy}` : c.role === 'proxy-upstream' ? " (the proxy's own connection)" : '';
  const tls = c.tls?.version ? `, ${c.tls.version}${c.tls.handshake_complete ? '' : ' (handshake incomplete)'}` : '';
  const sni = c.tls?.sni ? `, SNI ${c.tls.sni}` : '';
  const L: string[] = [];
  L.push(`<div class="conn" id="conn-${c.id}">`);
  L.push(`<h3>Connection ${esc(c.client)} &rarr; ${esc(c.server)}${esc(via)}</h3>`);
  L.push(`<p class="meta"><code>${esc(c.conn_state)}</code> <code>${esc(c.history || '-')}</code>${esc(tls)}${esc(sni)}, frames ${c.first_frame}&ndash;${c.last_frame}, ${c.duration.toFixed(3)} s: <strong style="color:${VERDICT_COLOR[c.verdict]}">${esc(c.verdict)} / ${esc(c.reason)}</strong>${c.inferred ? ' (inferred)' : ''}</p>`);
  L.push(`<p>${esc(c.summary)}</p>`);
  if (c.ladder && c.ladder.length) L.push(ladderSvg(c, esc, clean));
  L.push(`</div>`);
  return L.join('\n');
}

/**
 * the ladder diagram: columns as lifelines, one arrow (g.arrow) per ladder step, times on the left; the
 * connection's log lines (--log) as side notes (g.lognote: a diamond on the lifeline of the party that
 * wrote the log, file:line and what it says) at their time among the steps
 */
export function ladderSvg(c: ConnectionResult, esc: (s: string) => string, clean: (s: string) => string = redact): string {
  const { columns, rows, notes, notes_omitted } = ladderLayout(c, clean);
  const W = 520;
  const left = 84;
  const right = 20;
  const top = 46;
  const rowH = 30;
  const noteH = 22;
  const n = columns.length;
  const span = (W - left - right) / Math.max(1, n - 1);
  const xs = columns.map((_, i) => left + i * span);
  const H = top + rows.length * rowH + notes.length * noteH + 12;
  const charW = 6.1; // 11px sans-serif, roughly
  const fit = (s: string, px: number) => {
    const max = Math.max(4, Math.floor(px / charW));
    return s.length <= max ? s : s.slice(0, max - 1) + '\u2026';
  };
  const mono = 'font-family="ui-monospace,Menlo,Consolas,monospace"';
  const L: string[] = [];
  L.push(`<svg class="ladder" viewBox="0 0 ${W} ${H}" width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="ladder diagram of connection ${esc(c.client)} to ${esc(c.server)}">`);
  L.push(`<text x="4" y="14" font-size="10" fill="#1f2328">frame</text><text x="4" y="28" font-size="10" fill="#59636e">time (s)</text>`);
  columns.forEach((k, i) => {
    const x = xs[i]!;
    const anchor = i === 0 && n > 1 ? 'start' : i === n - 1 && n > 1 ? 'end' : 'middle';
    const tx = anchor === 'start' ? x - 6 : anchor === 'end' ? x + 6 : x;
    const room = i === 0 || i === n - 1 ? span - 10 : span - 14;
    L.push(`<g class="column"><text x="${tx.toFixed(1)}" y="14" font-size="12" font-weight="600" text-anchor="${anchor}" fill="#1f2328">${esc(k.role)}</text>`);
    L.push(`<text x="${tx.toFixed(1)}" y="28" font-size="10" text-anchor="${anchor}" fill="#59636e">${esc(fit(k.title, room * 1.1))}</text>`);
    L.push(`<line x1="${x.toFixed(1)}" y1="${top - 10}" x2="${x.toFixed(1)}" y2="${H - 4}" stroke="#d1d9e0" stroke-width="2"/></g>`);
  });
  let y0 = top;
  const note = (x: LadderNote) => {
    const y = y0 + 14;
    y0 += noteH;
    const cx = xs[x.col]!;
    const onRight = x.col === n - 1 && n > 1;
    L.push(`<g class="lognote"><title>${esc(x.where)}, ${esc(x.time)} s: ${esc(x.line)}</title>`);
    L.push(`<text x="4" y="${y + 4}" font-size="10" fill="${LOG_COLOR}" ${mono}>log ${esc(x.time)}</text>`);
    L.push(`<polygon points="${cx.toFixed(1)},${y - 5} ${(cx + 5).toFixed(1)},${y} ${cx.toFixed(1)},${y + 5} ${(cx - 5).toFixed(1)},${y}" fill="${LOG_COLOR}"/>`);
    // the note beside the writer's lifeline, towards the middle of the picture, cut to the room it has
    const tx = onRight ? cx - 9 : cx + 9;
    const room = onRight ? tx - xs[0]! - 4 : W - tx - 4;
    L.push(`<text x="${tx.toFixed(1)}" y="${y + 4}" font-size="10.5" font-style="italic" text-anchor="${onRight ? 'end' : 'start'}" fill="${LOG_COLOR}">${esc(fit(`${x.where} ${x.text}`, room))}</text></g>`);
  };
  let ni = 0;
  while (ni < notes.length && notes[ni]!.after < 0) note(notes[ni++]!);
  rows.forEach((r, j) => {
    const y = y0 + 18;
    y0 += rowH;
    const x1 = xs[r.from]!;
    const x2 = xs[r.to]!;
    const dirn = x2 >= x1 ? 1 : -1;
    const bad = /\bRST|Alert|HTTP [45]\d\d/.test(r.step.label) || r.step.kind === 'icmp';
    const color = bad ? (r.step.kind === 'icmp' ? KIND_COLOR.icmp : KIND_COLOR.bad) : KIND_COLOR[r.step.kind];
    const dash = r.step.retransmission ? ' stroke-dasharray="6 4"' : r.step.cut ? ' stroke-dasharray="2 3"' : '';
    const cls = ['arrow', `k-${r.step.kind}`, r.step.retransmission ? 'retransmission' : '', r.step.cut ? 'cut' : ''].filter(Boolean).join(' ');
    const tipX = x2 - dirn * 1;
    L.push(`<g class="${cls}" data-frame="${r.step.frame}"><title>frame ${esc(r.frames)}, ${esc(r.time)} s: ${esc(String(r.step.from))} to ${esc(String(r.step.to))}: ${esc(r.text)}</title>`);
    L.push(`<text x="4" y="${y - 3}" font-size="10" fill="#1f2328" ${mono}>#${esc(r.frames)}</text>`);
    L.push(`<text x="4" y="${y + 9}" font-size="10" fill="#59636e" ${mono}>${esc(r.time)}</text>`);
    L.push(`<line x1="${x1.toFixed(1)}" y1="${y}" x2="${(tipX - dirn * 7).toFixed(1)}" y2="${y}" stroke="${color}" stroke-width="1.6"${dash}/>`);
    L.push(`<polygon points="${tipX.toFixed(1)},${y} ${(tipX - dirn * 8).toFixed(1)},${y - 4} ${(tipX - dirn * 8).toFixed(1)},${y + 4}" fill="${color}"/>`);
    // the label above its arrow, from its left end; it may run over further columns, never out of the picture
    const lx = Math.min(x1, x2) + 6;
    L.push(`<text x="${lx.toFixed(1)}" y="${y - 5}" font-size="11" fill="${color}">${esc(fit(r.text, W - lx - 4))}</text></g>`);
    while (ni < notes.length && notes[ni]!.after <= j) note(notes[ni++]!);
  });
  while (ni < notes.length) note(notes[ni++]!);
  L.push(`</svg>`);
  if (notes_omitted) L.push(`<p class="meta">... and ${notes_omitted} more log lines of this connection (--format json lists them)</p>`);
  // the same steps as a table, for the full labels (the picture cuts long ones) and for copying frame numbers
  L.push(`<details class="steps"><summary>steps as a table${notes.length ? ', with the log lines' : ''}</summary><div class="scroll"><table><thead><tr><th>frame</th><th>time (s)</th><th>from &rarr; to</th><th>what</th></tr></thead><tbody>`);
  const noteRow = (x: LadderNote) => L.push(`<tr class="lognote"><td class="mono any">${esc(x.where)}</td><td class="mono">${esc(x.time)}</td><td>${x.col === 0 ? 'vManage log' : 'SSM On-Prem log'}</td><td class="any">${esc(x.text)}<br><span class="mono">${esc(x.line)}</span></td></tr>`);
  ni = 0;
  while (ni < notes.length && notes[ni]!.after < 0) noteRow(notes[ni++]!);
  rows.forEach((r, j) => {
    L.push(`<tr><td class="mono">${esc(r.frames)}</td><td class="mono">${esc(r.time)}</td><td>${esc(String(r.step.from))} &rarr; ${esc(String(r.step.to))}</td><td class="any">${esc(r.text)}</td></tr>`);
    while (ni < notes.length && notes[ni]!.after <= j) noteRow(notes[ni++]!);
  });
  while (ni < notes.length) noteRow(notes[ni++]!);
  L.push(`</tbody></table></div></details>`);
  return L.join('\n');
}

/** timeline rows shown at most (JSON carries up to 5000) */
const MAX_TIMELINE_ROWS = 200;

/** --log: each log read and its clock offset, the log errors no connection explains, vManage's settings, the timeline */
function logsHtml(r: RunReport, esc: (s: string) => string, clean: (s: string) => string): string {
  const L: string[] = [];
  // redacted whole, then cut: a cut never leaves a secret's tail past the pattern that finds it
  const escCut = (s: string, n: number) => escapeHtml(cutTo(clean(s), n));
  const base = (p: string) => p.split(/[\\/]/).pop() || p;
  L.push(`<section class="logs" id="logs">\n<h2>Logs</h2>`);
  L.push(`<div class="scroll"><table class="logs"><thead><tr><th>log</th><th>kind</th><th>lines</th><th>events</th><th>skipped</th><th>time zone</th><th>clock against the capture</th><th>matched</th></tr></thead><tbody>`);
  for (const l of r.logs ?? []) {
    const off = l.offset_seconds === null ? 'unknown (no line matched a connection)' : l.offset_seconds === 0 ? `agrees (${l.offset_pairs} request lines)` : `${Math.abs(l.offset_seconds).toFixed(1)} s ${l.offset_seconds > 0 ? 'ahead' : 'behind'} (${l.offset_pairs} request lines)`;
    const err = l.error ? `<br><span class="meta">${esc(l.error)}</span>` : '';
    L.push(`<tr><td class="mono any">${esc(l.path)}${err}</td><td>${esc(l.kind)}${l.compression ? ' (gzip)' : ''}</td><td>${l.lines}</td><td>${l.parsed}</td><td>${l.skipped}${l.unrecognized ? ` (${l.unrecognized} unknown)` : ''}</td><td>${esc(l.tz.join(', ') || '-')}</td><td>${esc(off)}</td><td>${l.matched}</td></tr>`);
  }
  L.push(`</tbody></table></div>`);
  for (const f of r.log_findings ?? []) {
    L.push(`<div class="log-finding" style="border-left-color:${VERDICT_COLOR[f.verdict]}"><strong style="color:${VERDICT_COLOR[f.verdict]}">${esc(f.verdict)} / ${esc(f.reason)}</strong> ${esc(f.summary)}<ul class="log-events">`);
    for (const e of f.events.slice(0, 6)) L.push(`<li><span class="mono">${esc(base(e.file))}:${e.line}</span> ${esc(e.what)}<br><span class="mono meta">${escCut(e.text, 400)}</span></li>`);
    const more = Math.max(0, f.events.length - 6) + (f.events_omitted ?? 0);
    if (more) L.push(`<li class="meta">... and ${more} more lines</li>`);
    L.push(`</ul><p class="hint"><strong>Next step:</strong> ${esc(f.hint)}</p></div>`);
  }
  if (r.log_findings_omitted) L.push(`<p class="meta">... and ${r.log_findings_omitted} more bursts of log errors with no connection (--format json lists the first 100)</p>`);
  if (r.log_notes?.length) {
    L.push(`<ul class="log-notes">`);
    for (const n of r.log_notes) L.push(`<li>${esc(n)}</li>`);
    L.push(`</ul>`);
  }
  const tl = r.timeline ?? [];
  if (tl.length) {
    const listed = new Set(r.inputs.length === 1 ? r.connections.map((c) => c.id) : []);
    L.push(`<h3>Timeline</h3>\n<p class="meta">UTC on the capture's clock; log times corrected by their clock offset.</p>`);
    L.push(`<div class="scroll"><table class="timeline"><thead><tr><th>time</th><th>where</th><th>what</th></tr></thead><tbody>`);
    const days = new Set(tl.map((t) => t.time.slice(0, 10)));
    for (const t of tl.slice(0, MAX_TIMELINE_ROWS)) {
      const when = days.size === 1 ? t.time.slice(11, 23) : `${t.time.slice(0, 10)} ${t.time.slice(11, 23)}`;
      const where = t.source === 'capture' ? `frame ${t.frame}` : `${base(t.file ?? '')}:${t.line}`;
      const conn = t.connection !== undefined && listed.has(t.connection) ? ` <a href="#conn-${t.connection}">conn</a>` : '';
      L.push(`<tr${t.source === 'log' ? ' class="lognote"' : ''}><td class="mono">${esc(when)}</td><td class="mono any">${esc(where)}${conn}</td><td class="any">${escCut(t.text, 400)}</td></tr>`);
    }
    L.push(`</tbody></table></div>`);
    if (days.size === 1) L.push(`<p class="meta">all on ${esc([...days][0]!)}</p>`);
    const more = Math.max(0, tl.length - MAX_TIMELINE_ROWS) + (r.timeline_omitted ?? 0);
    if (more) L.push(`<p class="meta">... and ${more} more (--format json lists up to 5000)</p>`);
  }
  L.push(`</section>\n`);
  return L.join('\n');
}

function inputsHtml(r: RunReport, esc: (s: string) => string): string {
  const L: string[] = [];
  L.push(`<h2>Inputs</h2>\n<div class="scroll"><table class="inputs"><thead><tr><th>capture</th><th>servers</th><th>format</th><th>link types</th><th>packets</th><th>bytes</th><th>connections</th><th>error</th></tr></thead><tbody>`);
  for (const i of r.inputs) {
    const fmt = [i.format ?? '?', i.compression ?? ''].filter(Boolean).join(', ');
    const links = i.link_types.map((l) => `${l.name} (${l.frames})`).join(', ');
    const omitted = i.connections_omitted ? ` (${i.connections_omitted} not listed)` : '';
    // which captures (which boxes) fail, and how: each server of the input with its verdict
    const servers = r.servers.filter((s) => s.input === i.path).map((s) => `<span style="color:${VERDICT_COLOR[s.verdict]}">${esc(hostPort(s.address, s.port))} ${esc(s.verdict)}/${esc(s.reason)}</span>`);
    L.push(`<tr><td class="mono any">${esc(i.path)}</td><td>${servers.join('<br>') || (i.readable ? 'no connection to the server port' : 'unreadable')}</td><td>${esc(fmt)}</td><td>${esc(links)}</td><td>${i.packets}</td><td>${i.bytes}</td><td>${i.connections_total}${omitted}</td><td class="any">${esc(String(i.error?.message ?? ''))}</td></tr>`);
  }
  L.push(`</tbody></table></div>\n`);
  return L.join('\n');
}

const OFFLOAD_NOTE =
  'A capture taken on the host that sends the packets often shows wrong TCP, UDP or IP checksums on that host\u2019s own packets. ' +
  'This is checksum offload: the operating system leaves the checksum field holding only the pseudo-header sum and the network card ' +
  'computes the real checksum after the capture point, so the packet leaves the wire correct; tshark marks such packets Bad and tcpdump prints ' +
  '\u201cincorrect\u201d, and neither is an error. ssmcap recognises that pattern (counted as offload below). Wrong checksums without it, on packets ' +
  'received from the network, mean corruption on the path or a middlebox that rewrote the packet without fixing them.';

function checksumHtml(r: RunReport, multi: boolean, esc: (s: string) => string): string {
  const L: string[] = [];
  L.push(`<h2>Checksums</h2>\n<p class="checksum-note">${esc(OFFLOAD_NOTE)}</p>`);
  if (r.checksums.length) {
    L.push(`<ul class="checksums">`);
    for (const c of r.checksums) L.push(`<li>${multi ? `<span class="meta">${esc(c.input)}:</span> ` : ''}${esc(c.text)}</li>`);
    L.push(`</ul>`);
  }
  return L.join('\n') + '\n';
}

function cutTo(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '\u2026';
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => (ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '"' ? '&quot;' : '&#39;'));
}
