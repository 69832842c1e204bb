/**
 * The ladder diagram's layout, shared by the HTML report (SVG) and the text report (--ladder): one
 * column per party (client, the routers that sent ICMP errors, the proxy, the server) and one row per
 * ladder step with its frame, time, arrow ends, label and marks. Rendering is a separate step.
 */
import type { ConnectionResult } from '../diagnose/analyze.js';
import type { LadderStep } from '../diagnose/ladder.js';

export interface LadderColumn {
  key: string;
  /** 'client', 'proxy', 'server' or 'router' */
  role: string;
  /** address:port (or the router's address) */
  title: string;
}

export interface LadderRow {
  step: LadderStep;
  from: number;
  to: number;
  /** frame number, or first-last for a grouped arrow */
  frames: string;
  /** seconds since the connection's first packet, 6 digits */
  time: string;
  /** the label with its marks: retransmission, cut by the snaplen */
  text: string;
}

/** a log line matched to the connection (--log), placed among the steps by its time on the capture's clock */
export interface LadderNote {
  /** the index of the row it follows (-1: before the first row) */
  after: number;
  /** seconds since the connection's first packet (negative: written before it), 6 digits */
  time: string;
  /** the column of the party that wrote it: the client for vManage's logs, the server for SSM On-Prem's */
  col: number;
  /** the log file's base name and the line number */
  where: string;
  /** what the line says, in a few words (redacted) */
  text: string;
  /** the line as written (redacted) */
  line: string;
}

export interface LadderLayout {
  columns: LadderColumn[];
  rows: LadderRow[];
  /** log lines as side notes, in time order: never arrows */
  notes: LadderNote[];
  /** log lines of the connection past MAX_LADDER_NOTES */
  notes_omitted: number;
}

/** log notes drawn per ladder at most (the first ones in time) */
export const MAX_LADDER_NOTES = 30;

/**
 * `clean` is the redaction step (or nothing, with --show-secrets): applied to each whole label before
 * any renderer cuts or wraps it, so a secret is never split past the pattern that finds it.
 */
export function ladderLayout(c: ConnectionResult, clean: (s: string) => string = (s) => s): LadderLayout {
  const steps = c.ladder ?? [];
  const columns: LadderColumn[] = [{ key: 'client', role: 'client', title: c.client }];
  const routers: string[] = [];
  for (const s of steps) for (const p of [s.from, s.to]) if (!['client', 'server', 'proxy'].includes(p) && !routers.includes(p)) routers.push(p);
  for (const r of routers) columns.push({ key: r, role: 'router', title: r });
  if (c.proxy) columns.push({ key: 'proxy', role: 'proxy', title: c.proxy });
  columns.push({ key: 'server', role: 'server', title: c.server });
  const col = (k: string) => Math.max(0, columns.findIndex((x) => x.key === k));
  const rows = steps.map((step) => ({
    step,
    from: col(step.from),
    to: col(step.to),
    frames: step.last_frame ? `${step.frame}-${step.last_frame}` : String(step.frame),
    time: step.time.toFixed(6),
    text: clean(stepText(step)),
  }));
  // log lines at their time among the steps: after every step at or before it (the log's stamps are
  // often to the millisecond or the second, so a line written with a packet comes after it)
  const start = Number(c.start);
  const events = c.log_events ?? [];
  const notes: LadderNote[] = [];
  for (const e of events.slice(0, MAX_LADDER_NOTES)) {
    const t = Date.parse(e.time) / 1000 - start;
    if (!Number.isFinite(t)) continue;
    let after = -1;
    while (after + 1 < steps.length && steps[after + 1]!.time <= t + 1e-6) after++;
    notes.push({
      after,
      time: (Math.abs(t) < 5e-7 ? 0 : t).toFixed(6),
      col: e.source === 'ssm' ? columns.length - 1 : 0,
      where: `${baseName(e.file)}:${e.line}`,
      text: clean(e.what),
      line: clean(e.text),
    });
  }
  notes.sort((a, b) => a.after - b.after);
  return { columns, rows, notes, notes_omitted: Math.max(0, events.length - MAX_LADDER_NOTES) };
}

function baseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}

export function stepText(s: LadderStep): string {
  let t = s.label;
  if (s.bytes && !/\bbytes\b/.test(t)) t += ` (${s.bytes} B)`;
  if (s.retransmission && !/retransmission/.test(t)) t += ' [retransmission]';
  if (s.cut && !/not captured/.test(t)) t += ' [cut by snaplen]';
  return t;
}

export interface AsciiOptions {
  /** terminal columns (default 80) */
  width?: number;
  /** colour the arrows (picocolors functions), or identity */
  paint?: (kind: LadderStep['kind'] | 'bad', s: string) => string;
  /** the redaction step, applied to each label before it is wrapped */
  clean?: (s: string) => string;
}

/**
 * The ladder as text lines that fit the width: a gutter with frame and time, one vertical line per
 * column, an arrow per step with its label inside when it fits, else on the line below it.
 */
export function ladderAscii(c: ConnectionResult, opts: AsciiOptions = {}): string[] {
  const { columns, rows, notes, notes_omitted } = ladderLayout(c, opts.clean);
  const width = Math.max(40, opts.width ?? 80);
  const paint = opts.paint ?? ((_k, s) => s);
  const fw = Math.max(5, ...rows.map((r) => r.frames.length));
  const tw = Math.max(8, ...rows.map((r) => r.time.length), ...notes.map((x) => x.time.length));
  const gutter = fw + tw + 3;
  const area = width - gutter - 1;
  const n = columns.length;
  const step = n > 1 ? Math.floor((area - 1) / (n - 1)) : area;
  const xs = columns.map((_, i) => i * step);
  const lineW = xs[n - 1]! + 1;
  const blank = () => {
    const a = new Array<string>(lineW).fill(' ');
    for (const x of xs) a[x] = '|';
    return a;
  };
  const out: string[] = [];
  // the column heads: role then address, each centred on its line and cut to the space it has
  for (const pick of [(k: LadderColumn) => k.role, (k: LadderColumn) => k.title]) {
    const a = new Array<string>(lineW + step).fill(' ');
    columns.forEach((k, i) => {
      const room = i === 0 || i === n - 1 ? step : step - 1;
      const t = cut(pick(k), Math.max(4, room));
      const start = i === 0 ? 0 : i === n - 1 ? lineW - t.length : Math.max(0, xs[i]! - Math.floor(t.length / 2));
      for (let j = 0; j < t.length; j++) a[start + j] = t[j]!;
    });
    out.push(' '.repeat(gutter) + a.join('').trimEnd());
  }
  // a log line: 'log' and its time in the gutter, a * on the writer's lifeline, file:line and what it
  // says from the client's lifeline on, cut before the server's (never an arrow)
  const noteLine = (x: LadderNote) => {
    const a = blank();
    const last = xs[n - 1]!;
    const room = Math.max(8, (n > 1 ? last - 1 : width - gutter) - 2);
    const t = cut(`${x.where} ${x.text}`, room);
    for (let j = 0; j < t.length && 2 + j < a.length; j++) a[2 + j] = t[j]!;
    a[xs[x.col]!] = '*';
    const line = n > 1 ? a.join('') : a.slice(0, 2).join('') + t;
    out.push(`${'log'.padStart(fw)} ${x.time.padStart(tw)}  ${line}`.trimEnd());
  };
  let ni = 0;
  while (ni < notes.length && notes[ni]!.after < 0) noteLine(notes[ni++]!);
  for (const [ri, r] of rows.entries()) {
    const a = blank();
    const lo = Math.min(xs[r.from]!, xs[r.to]!);
    const hi = Math.max(xs[r.from]!, xs[r.to]!);
    const right = xs[r.to]! > xs[r.from]!;
    const ch = r.step.retransmission ? '~' : r.step.kind === 'icmp' ? '.' : '-';
    for (let x = lo + 1; x < hi; x++) a[x] = ch;
    if (right) a[hi - 1] = '>';
    else a[lo + 1] = '<';
    const room = hi - lo - 5;
    let below: string | null = null;
    if (r.text.length <= room) {
      const start = lo + 1 + Math.floor((hi - lo - 1 - r.text.length) / 2);
      for (let j = 0; j < r.text.length; j++) a[start + j] = r.text[j]!;
    } else below = r.text;
    const bad = /\bRST|Alert|ICMP|HTTP [45]\d\d/.test(r.step.label);
    const g = `${r.frames.padStart(fw)} ${r.time.padStart(tw)}  `;
    out.push(g + paint(bad ? 'bad' : r.step.kind, a.join('')));
    if (below) {
      // the label under its arrow, wrapped in the space right of the arrow's start
      const indent = lo + 2;
      const w = Math.max(20, width - gutter - indent);
      for (const part of wrap(below, w)) {
        const b = blank();
        const line = b.slice(0, indent).join('') + part;
        out.push(' '.repeat(gutter) + line);
      }
    }
    while (ni < notes.length && notes[ni]!.after <= ri) noteLine(notes[ni++]!);
  }
  while (ni < notes.length) noteLine(notes[ni++]!);
  if (notes_omitted) out.push(`${' '.repeat(gutter)}... and ${notes_omitted} more log lines of this connection (--format json lists them)`);
  return out;
}

function cut(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '~';
}

function wrap(s: string, w: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length > w) {
    // break at a space, else before a URL's & or ?, else anywhere
    let i = rest.lastIndexOf(' ', w);
    if (i <= 0) i = Math.max(rest.lastIndexOf('&', w), rest.lastIndexOf('?', w));
    if (i <= 0) i = w;
    out.push(rest.slice(0, i));
    rest = rest.slice(i).trimStart();
  }
  if (rest) out.push(rest);
  return out;
}
