/**
 * HTTP/1.x in clear from one direction's reassembled stream: requests and responses, start line,
 * headers, short bodies (OAuth errors are small JSON documents). A CONNECT request and the proxy's 200
 * answer hand the rest of the stream to a tunnel consumer (the TLS inside the tunnel).
 */
import type { GapKind, StreamConsumer } from '../flow/reassembly.js';

export interface HttpMessage {
  kind: 'request' | 'response';
  frame: number;
  time: number;
  version: string;
  method?: string;
  target?: string;
  status?: number;
  reason?: string;
  headers: [string, string][];
  /** the body as text, up to the cap */
  body: string;
  /** body bytes on the wire (Content-Length or what was read) */
  bodyLength: number;
  /** the whole message was read */
  complete: boolean;
  /** the snaplen cut the head: only the start line was read */
  cut?: boolean;
}

const MAX_HEAD = 64 * 1024;
const MAX_BODY_KEPT = 8 * 1024;
const decoder = new TextDecoder('latin1');

export function header(m: HttpMessage, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of m.headers) if (k.toLowerCase() === n) return v;
  return undefined;
}

export function looksLikeHttpRequest(b: Uint8Array): boolean {
  const s = decoder.decode(b.subarray(0, 16));
  return /^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|TRACE) /.test(s);
}

export function looksLikeHttpResponse(b: Uint8Array): boolean {
  return decoder.decode(b.subarray(0, 8)).startsWith('HTTP/1.');
}

export class HttpStream implements StreamConsumer {
  readonly messages: HttpMessage[] = [];
  /** a gap broke the stream: later bytes are not parsed */
  broken = false;
  /** bytes after the headers of a message go here once set (CONNECT tunnel) */
  tunnel: StreamConsumer | null = null;
  /** decides, when a message's head is complete, whether the rest of the stream is a tunnel */
  onHead: ((m: HttpMessage) => StreamConsumer | null) | null = null;
  /** a response without a length is read until the close */
  private head = '';
  private headFrame = 0;
  private headTime = 0;
  private cur: HttpMessage | null = null;
  private bodyLeft = 0;
  private untilClose = false;
  private chunked = false;
  private chunkBuf = '';

  constructor(private readonly role: 'client' | 'server') {}

  data(bytes: Uint8Array, off: number, frame: number, time: number): void {
    if (this.tunnel) {
      this.tunnel.data(bytes, off, frame, time);
      return;
    }
    if (this.broken) return;
    let i = 0;
    while (i < bytes.length) {
      if (this.cur && (this.bodyLeft > 0 || this.untilClose || this.chunked)) {
        i += this.readBody(bytes.subarray(i));
        continue;
      }
      // reading a head
      const start = i;
      let endAt = -1;
      const text = decoder.decode(bytes.subarray(i));
      const joined = this.head + text;
      const idx = joined.indexOf('\r\n\r\n');
      const idx2 = joined.indexOf('\n\n');
      // the head ends at the first empty line, CRLF or bare LF (whichever comes first: a body may hold the other)
      const headEnd = idx >= 0 && (idx2 < 0 || idx < idx2) ? idx + 4 : idx2 >= 0 ? idx2 + 2 : -1;
      if (headEnd < 0) {
        if (this.head === '') {
          this.headFrame = frame;
          this.headTime = time;
        }
        this.head = joined;
        if (this.head.length > MAX_HEAD) this.broken = true;
        return;
      }
      endAt = start + (headEnd - this.head.length);
      const headText = joined.slice(0, headEnd);
      this.head = '';
      i = endAt;
      const m = this.parseHead(headText, frame, time);
      if (!m) {
        this.broken = true;
        return;
      }
      this.messages.push(m);
      const t = this.onHead?.(m) ?? null;
      if (t) {
        m.complete = true;
        this.tunnel = t;
        if (i < bytes.length) t.data(bytes.subarray(i), off + i, frame, time);
        return;
      }
      this.startBody(m);
    }
  }

  gap(len: number, off: number, kind: GapKind, frame: number): void {
    if (this.tunnel) {
      this.tunnel.gap(len, off, kind, frame);
      return;
    }
    if (!this.cur && this.head && !this.broken) {
      // a head the snaplen cut: its start line is often whole (or whole enough: status code, method
      // and target); the rest of the stream cannot be placed, but a CONNECT tunnel resyncs on its records
      const m = this.parsePartialHead(this.head, this.headFrame, this.headTime);
      this.head = '';
      if (m) {
        this.messages.push(m);
        const t = this.onHead?.(m) ?? null;
        if (t) {
          this.tunnel = t;
          t.gap(len, off, kind, frame);
          return;
        }
      }
      this.broken = true;
      return;
    }
    if (this.cur && this.bodyLeft > 0 && !this.chunked) {
      // a cut body: its length is still known
      const take = Math.min(len, this.bodyLeft);
      this.bodyLeft -= take;
      if (this.bodyLeft === 0) this.endMessage();
      if (take === len) return;
    }
    this.broken = true;
  }

  /** the stream ended: a message read until the close is complete now; a head never ended is read as far as it goes */
  end(): void {
    if (this.cur && this.untilClose) this.endMessage();
    if (!this.cur && this.head && !this.broken && !this.tunnel) {
      const m = this.parsePartialHead(this.head, this.headFrame, this.headTime);
      this.head = '';
      if (m) this.messages.push(m);
    }
  }

  private parsePartialHead(text: string, frame: number, time: number): HttpMessage | null {
    const first = text.split(/\r?\n/)[0] ?? '';
    let m: RegExpExecArray | null;
    if ((m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(first))) {
      return { kind: 'response', frame, time, version: m[1]!, status: Number(m[2]), reason: m[3] ?? '', headers: [], body: '', bodyLength: 0, complete: false, cut: true };
    }
    if ((m = /^([A-Z]+) (\S+)( (HTTP\/\d\.\d)?|$)/.exec(first))) {
      // the target is whole only when a space (or the end of a whole line) follows it; cut in its query, its
      // path is whole (the query is never shown)
      const whole = m[3] !== '' || text.length > first.length || m[2]!.includes('?');
      if (!whole) return null;
      return { kind: 'request', frame, time, version: m[4] ?? '', method: m[1]!, target: m[2]!, headers: [], body: '', bodyLength: 0, complete: false, cut: true };
    }
    return null;
  }

  private parseHead(text: string, frame: number, time: number): HttpMessage | null {
    const lines = text.split(/\r?\n/);
    const first = lines[0] ?? '';
    const headers: [string, string][] = [];
    for (const l of lines.slice(1)) {
      if (!l) continue;
      const c = l.indexOf(':');
      if (c > 0) headers.push([l.slice(0, c).trim(), l.slice(c + 1).trim()]);
    }
    let m: RegExpExecArray | null;
    if ((m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(first))) {
      return { kind: 'response', frame, time, version: m[1]!, status: Number(m[2]), reason: m[3] ?? '', headers, body: '', bodyLength: 0, complete: false };
    }
    if ((m = /^([A-Z]+) (\S+) (HTTP\/\d\.\d)$/.exec(first))) {
      return { kind: 'request', frame, time, version: m[3]!, method: m[1]!, target: m[2]!, headers, body: '', bodyLength: 0, complete: false };
    }
    return null;
  }

  private startBody(m: HttpMessage): void {
    this.cur = m;
    const te = header(m, 'transfer-encoding');
    const cl = header(m, 'content-length');
    this.chunked = !!te && /chunked/i.test(te);
    this.untilClose = false;
    this.bodyLeft = 0;
    if (this.chunked) return;
    if (cl !== undefined && /^\d+$/.test(cl)) {
      this.bodyLeft = Number(cl);
      m.bodyLength = this.bodyLeft;
    } else if (m.kind === 'response' && m.status !== 204 && m.status !== 304 && !(m.status! >= 100 && m.status! < 200)) {
      this.untilClose = this.role === 'server';
    }
    if (this.bodyLeft === 0 && !this.untilClose) this.endMessage();
  }

  private readBody(b: Uint8Array): number {
    const m = this.cur!;
    if (this.chunked) {
      // keep the raw chunked text; the body is decoded when the terminating chunk arrives
      this.chunkBuf += decoder.decode(b);
      const done = /(^|\r\n)0\r\n\r\n/.exec(this.chunkBuf);
      if (done) {
        const consumedText = this.chunkBuf.slice(0, done.index + done[0].length);
        const extra = this.chunkBuf.length - consumedText.length;
        m.body = dechunk(consumedText).slice(0, MAX_BODY_KEPT);
        m.bodyLength = m.body.length;
        this.chunkBuf = '';
        this.chunked = false;
        this.endMessage();
        return b.length - extra;
      }
      if (this.chunkBuf.length > MAX_HEAD) this.chunkBuf = this.chunkBuf.slice(-16);
      return b.length;
    }
    const take = this.untilClose ? b.length : Math.min(this.bodyLeft, b.length);
    if (m.body.length < MAX_BODY_KEPT) m.body += decoder.decode(b.subarray(0, Math.min(take, MAX_BODY_KEPT - m.body.length)));
    if (this.untilClose) m.bodyLength += take;
    else {
      this.bodyLeft -= take;
      if (this.bodyLeft === 0) this.endMessage();
    }
    return take;
  }

  private endMessage(): void {
    if (this.cur) this.cur.complete = true;
    this.cur = null;
    this.untilClose = false;
  }
}

function dechunk(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const nl = s.indexOf('\r\n', i);
    if (nl < 0) break;
    const n = parseInt(s.slice(i, nl), 16);
    if (!Number.isFinite(n) || n === 0) break;
    out += s.slice(nl + 2, nl + 2 + n);
    i = nl + 2 + n + 2;
  }
  return out;
}
