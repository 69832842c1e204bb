/**
 * The protocol session of one TCP connection: decides from each side's first bytes whether it speaks
 * TLS, HTTP in clear, or is a client talking to an HTTP proxy (CONNECT host:port, recognised by
 * content on any port), and routes the reassembled streams to the TLS and HTTP parsers. After a proxy's
 * 200 both streams are the tunnel: the TLS inside it is the session to the CONNECT target.
 */
import type { Connection } from '../flow/conn.js';
import { attachConsumers } from '../flow/conn.js';
import type { GapKind, StreamConsumer } from '../flow/reassembly.js';
import { HttpStream, looksLikeHttpRequest, type HttpMessage } from './http.js';
import { TlsStream, tlsPrefix, type ServerHelloInfo, type TlsOwner } from './tls.js';
import { TlsDecryptor } from './decrypt.js';
import type { KeyLog } from './keylog.js';

export interface ProxyInfo {
  /** CONNECT target as written */
  target: string;
  host: string;
  port: number;
  requestFrame: number;
  /** the proxy's answer, -1 while none */
  status: number;
  reason: string;
  responseFrame: number;
  /** the request carried Proxy-Authorization */
  authorization: boolean;
  /** the proxy's answer is in bytes the capture missed (the client acknowledged them) */
  answerMissed: boolean;
}

export class Session implements TlsOwner {
  readonly clientTls = new TlsStream();
  readonly serverTls = new TlsStream();
  proxy: ProxyInfo | null = null;
  /** what the client spoke first: 'tls', 'http', 'connect', 'other', or '' before any byte */
  clientKind: '' | 'tls' | 'http' | 'connect' | 'other' | 'sslv2' = '';
  serverKind: '' | 'tls' | 'http' | 'other' = '';
  /** with a key log: the decryption of this connection's TLS, and the HTTP read from its plaintext */
  readonly decryptor: TlsDecryptor | null = null;
  readonly clientApp: HttpStream | null = null;
  readonly serverApp: HttpStream | null = null;
  /** the HTTP parsers in clear, made when a side turns out to speak HTTP (most connections never do) */
  private ch: HttpStream | null = null;
  private sh: HttpStream | null = null;

  constructor(
    readonly conn: Connection,
    keyLog: KeyLog | null = null,
  ) {
    if (keyLog && keyLog.size > 0) {
      const clientApp = (this.clientApp = new HttpStream('client'));
      const serverApp = (this.serverApp = new HttpStream('server'));
      // decrypted application data goes through the same HTTP parsing as clear text
      this.decryptor = new TlsDecryptor(keyLog, this.clientTls, this.serverTls, (dir, data, off, frame, time, missing) => {
        const h = dir === 'c' ? clientApp : serverApp;
        h.data(data, off, frame, time);
        if (missing > 0) h.gap(missing, off + data.length, 'snaplen', frame);
      });
    }
    if (conn.midstream && !conn.openedBySynAck) {
      // the capture starts inside the connection: the first bytes are somewhere in a record, so each
      // side waits for a segment that starts with a record header (and is never judged "not TLS")
      this.clientTls.state = 'lost';
      this.serverTls.state = 'lost';
    }
    this.clientTls.owner = this;
    this.serverTls.owner = this;
    this.clientTls.source = conn.orig.stream;
    this.serverTls.source = conn.resp.stream;
    attachConsumers(conn, new SideConsumer(this, true), new SideConsumer(this, false));
  }

  /** the connection's SYN came after all (after its SYN-ACK in the capture): its streams start at their first byte */
  notMidstream(): void {
    this.clientTls.startAtFirstByte();
    this.serverTls.startAtFirstByte();
  }

  get clientHttp(): HttpStream {
    if (this.ch === null) {
      this.ch = new HttpStream('client');
      this.ch.onHead = (m) => this.onClientHead(m);
    }
    return this.ch;
  }

  get serverHttp(): HttpStream {
    if (this.sh === null) {
      this.sh = new HttpStream('server');
      this.sh.onHead = (m) => this.onServerHead(m);
    }
    return this.sh;
  }

  fallbackFor(t: TlsStream): StreamConsumer {
    return t === this.clientTls ? this.clientHttp : this.serverHttp;
  }

  serverHello(t: TlsStream, sh: ServerHelloInfo): void {
    if (t === this.serverTls && sh.selectedVersion === 0x0304 && !sh.helloRetryRequest) this.clientTls.startEncryption();
  }

  /** bytes from the client (`toServer`) or the server, routed by what each side turned out to speak */
  onData(toServer: boolean, bytes: Uint8Array, off: number, frame: number, time: number): void {
    if (toServer) {
      if (this.clientKind === '') this.classifyClient(bytes);
      if (this.clientKind === 'connect') this.clientHttp.data(bytes, off, frame, time);
      else this.clientTls.data(bytes, off, frame, time);
      // seen from the middle, the client's bytes start with its ClientHello: the session starts here, and the
      // server's first bytes are its answer (a ServerHello, or what a server that is not TLS says)
      if (this.conn.midstream && this.clientTls.clientHello) this.serverTls.startAtFirstByte();
    } else {
      if (this.serverKind === '') this.serverKind = looksLikeTls(bytes) ? 'tls' : isHttpResponse(bytes) ? 'http' : 'other';
      if (this.clientKind === 'connect') this.serverHttp.data(bytes, off, frame, time);
      else this.serverTls.data(bytes, off, frame, time);
    }
  }

  onDataIn(toServer: boolean, src: Uint8Array, start: number, end: number, off: number, frame: number, time: number): void {
    // once both sides are classified and no proxy is in the way, the TLS parser reads the bytes in place
    if (this.clientKind === '' || this.clientKind === 'connect' || (!toServer && this.serverKind === '')) this.onData(toServer, src.subarray(start, end), off, frame, time);
    else (toServer ? this.clientTls : this.serverTls).dataIn(src, start, end, off, frame, time);
  }

  onGap(toServer: boolean, len: number, off: number, kind: GapKind, frame: number): void {
    const p = this.proxy;
    if (!toServer && kind === 'loss' && off === 0 && p !== null && p.status < 0) {
      // the proxy's answer is in bytes the capture missed: what follows, if anything, is the tunnel's (the
      // client speaks TLS through it only after a 200), read as TLS from the first record header that comes
      p.answerMissed = true;
      this.serverTls.state = 'lost';
      this.serverHttp.tunnel = this.serverTls;
    }
    if (this.clientKind === 'connect') (toServer ? this.clientHttp : this.serverHttp).gap(len, off, kind, frame);
    else (toServer ? this.clientTls : this.serverTls).gap(len, off, kind, frame);
  }

  private classifyClient(b: Uint8Array): void {
    if (startsWith(b, CONNECT)) this.clientKind = 'connect';
    else if (b[0]! & 0x80 && b[2] === 1) this.clientKind = 'sslv2';
    else if (looksLikeTls(b)) this.clientKind = 'tls';
    else if (looksLikeHttpRequest(b)) this.clientKind = 'http';
    else this.clientKind = 'other';
  }

  private onClientHead(m: HttpMessage): StreamConsumer | null {
    if (this.clientKind !== 'connect' || m.method !== 'CONNECT' || this.proxy) return null;
    const target = m.target ?? '';
    const mm = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
    this.proxy = {
      target,
      host: mm ? mm[1]! : target,
      port: mm ? Number(mm[2]) : 443,
      requestFrame: m.frame,
      status: -1,
      reason: '',
      responseFrame: 0,
      authorization: m.headers.some(([k]) => k.toLowerCase() === 'proxy-authorization'),
      answerMissed: false,
    };
    // what the client sends after its CONNECT request is for the target
    return this.clientTls;
  }

  private onServerHead(m: HttpMessage): StreamConsumer | null {
    if (!this.proxy || m.kind !== 'response' || this.proxy.status >= 0) return null;
    this.proxy.status = m.status ?? -1;
    this.proxy.reason = m.reason ?? '';
    this.proxy.responseFrame = m.frame;
    return m.status === 200 ? this.serverTls : null;
  }

  /** end of capture */
  end(): void {
    this.ch?.end();
    this.sh?.end();
    this.clientApp?.end();
    this.serverApp?.end();
  }

  /** bytes of the client's second flight (its data after the server's first answer) */
  private secondClientFlight(): number {
    let turn = 0;
    let last = '';
    let bytes = 0;
    const segs = this.conn.segments;
    for (let i = 0; i < segs.length; i++) {
      const dir = segs.dir(i);
      if (dir !== last) {
        turn++;
        last = dir;
      }
      if (turn === 3) bytes += segs.len(i);
      else if (turn > 3) break;
    }
    return bytes;
  }

  /** TLS 1.3 was negotiated: read from the ServerHello, or inferred when the snaplen cut it */
  get tls13(): boolean {
    return this.serverTls.tls13 || this.clientTls.tls13 || this.tls13Inferred;
  }

  /**
   * TLS 1.3 told from record types alone (the ServerHello's supported_versions was not captured): in
   * TLS 1.2 the record after a ChangeCipherSpec is the encrypted Finished (handshake, 22) and the server
   * sends no application data before the client's second flight; in TLS 1.3 both are application data.
   */
  get tls13Inferred(): boolean {
    if (this.serverTls.serverHello?.selectedVersion === 0x0303 || (this.serverTls.serverHello && this.serverTls.serverHello.selectedVersion < 0 && !this.serverTls.records.some((r) => r.cut && r.handshakes.includes(2)))) return false;
    const cr = this.clientTls.records;
    const ccs = cr.findIndex((r) => r.type === 20);
    if (ccs >= 0 && cr[ccs + 1]?.type === 23) return true;
    if (ccs >= 0 && cr[ccs + 1]?.type === 0) {
      // what follows the client's ChangeCipherSpec was cut: its second flight's size tells. TLS 1.2's
      // (key exchange, CCS, Finished) is small; TLS 1.3's carries the Finished and the first request
      const second = this.secondClientFlight();
      if (second > 200) return true;
    }
    const secondFlight = cr.find((r, i) => i > 0 && r.frame > (cr[0]?.frame ?? 0));
    const serverData = this.serverTls.records.find((r) => r.type === 23);
    return !!serverData && (!secondFlight || serverData.frame < secondFlight.frame) && !!this.clientTls.records.length && this.serverTls.records.some((r) => r.handshakes.includes(2));
  }
}

/** makes the session of a connection found to be a proxy leg (one per analysis) */
export interface SessionOpener {
  open(c: Connection): Session;
}

/**
 * The client stream of a connection to another port, until its first bytes: a CONNECT makes it a proxy
 * leg (its session is made then and gets these bytes), anything else makes it nobody's business. One small
 * object instead of a session with its four parsers for every connection a capture holds.
 */
export class ConnectSniffer implements StreamConsumer {
  /** what the client's first bytes were: '' none yet, 'connect', or 'other' */
  kind: '' | 'connect' | 'other' = '';

  constructor(
    private readonly conn: Connection,
    private readonly opener: SessionOpener,
  ) {}

  data(bytes: Uint8Array, off: number, frame: number, time: number): void {
    if (this.kind !== '') return;
    if (!startsWith(bytes, CONNECT)) {
      this.kind = 'other';
      return;
    }
    this.kind = 'connect';
    // the session takes both streams over and reads the request from its first byte
    this.opener.open(this.conn).onData(true, bytes, off, frame, time);
  }

  gap(): void {}
}

/** one side's byte stream into the session (methods on a prototype: no closures per connection) */
class SideConsumer implements StreamConsumer {
  constructor(
    private readonly s: Session,
    private readonly toServer: boolean,
  ) {}
  data(bytes: Uint8Array, off: number, frame: number, time: number): void {
    this.s.onData(this.toServer, bytes, off, frame, time);
  }
  dataIn(src: Uint8Array, start: number, end: number, off: number, frame: number, time: number): void {
    this.s.onDataIn(this.toServer, src, start, end, off, frame, time);
  }
  gap(len: number, off: number, kind: GapKind, frame: number): void {
    this.s.onGap(this.toServer, len, off, kind, frame);
  }
}

function looksLikeTls(b: Uint8Array): boolean {
  return tlsPrefix(b);
}

function isHttpResponse(b: Uint8Array): boolean {
  return startsWith(b, HTTP_SLASH);
}

const CONNECT = [0x43, 0x4f, 0x4e, 0x4e, 0x45, 0x43, 0x54, 0x20]; // 'CONNECT '
const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // 'HTTP/'

/** the bytes begin with this ASCII prefix (no string per call) */
function startsWith(b: Uint8Array, prefix: number[]): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}
