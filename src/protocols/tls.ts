/**
 * TLS from the reassembled byte stream of one direction (never per packet): the record layer with its
 * boundaries kept across snaplen gaps (a record header gives the length of what the capture cut), the
 * plaintext handshake (ClientHello, ServerHello and HelloRetryRequest, Certificate in TLS 1.2 and
 * earlier, CertificateRequest, ServerHelloDone, ClientKeyExchange), ChangeCipherSpec, alerts, and the
 * encrypted records that follow, by type, size, frame and time. SSLv2 hellos and bytes that are not TLS
 * at all are recognised.
 */
import { copyBytes } from '../bytes.js';
import { X509Certificate } from 'node:crypto';
import type { GapKind, StreamConsumer } from '../flow/reassembly.js';

export const CT_CCS = 20;
export const CT_ALERT = 21;
export const CT_HANDSHAKE = 22;
export const CT_APPDATA = 23;
export const CT_HEARTBEAT = 24;
/**
 * Not a TLS content type: bytes whose record boundaries were lost (a record header fell into what the
 * snaplen cut). Kept per frame as one pseudo-record so the exchange still shows who sent how much, when.
 */
export const CT_OPAQUE = 0;

export const HS = {
  hello_request: 0,
  client_hello: 1,
  server_hello: 2,
  new_session_ticket: 4,
  end_of_early_data: 5,
  encrypted_extensions: 8,
  certificate: 11,
  server_key_exchange: 12,
  certificate_request: 13,
  server_hello_done: 14,
  certificate_verify: 15,
  client_key_exchange: 16,
  finished: 20,
  key_update: 24,
} as const;

const HS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(HS).map(([k, v]) => [v, k]));
/** handshake message types of SSL 3.0 to TLS 1.3 (RFC 8446 4, RFC 5246 7.4, certificate_url/status 21/22, compressed_certificate 25, message_hash 254) */
const HS_TYPES = new Set([0, 1, 2, 3, 4, 5, 6, 8, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 254]);
export function handshakeName(t: number): string {
  return HS_NAMES[t] ?? `handshake_${t}`;
}

/** RFC 8446 6.2 / RFC 5246 7.2 alert descriptions */
export const ALERTS: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  30: 'decompression_failure',
  40: 'handshake_failure',
  41: 'no_certificate',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  60: 'export_restriction',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

export function versionName(v: number): string {
  switch (v) {
    case 0x0002:
      return 'SSL 2.0';
    case 0x0300:
      return 'SSL 3.0';
    case 0x0301:
      return 'TLS 1.0';
    case 0x0302:
      return 'TLS 1.1';
    case 0x0303:
      return 'TLS 1.2';
    case 0x0304:
      return 'TLS 1.3';
    default:
      return (v & 0x0f0f) === 0x0a0a ? `GREASE 0x${v.toString(16)}` : `0x${v.toString(16).padStart(4, '0')}`;
  }
}

/** the ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3) */
const utf8 = new TextDecoder();
const NO_BYTES = new Uint8Array(0);
/** the handshake types of a record that carries none (most records): one shared, frozen array */
const NO_TYPES: number[] = Object.freeze([]) as unknown as number[];

function addType(rec: TlsRecordInfo, t: number): void {
  if (rec.handshakes === NO_TYPES) rec.handshakes = [t];
  else rec.handshakes.push(t);
}

const HRR_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';
const MAX_RECORD_LEN = 16384 + 2048;
/** the longest handshake message kept for parsing (a certificate chain of a few dozen kilobytes fits) */
const MAX_HANDSHAKE_MSG = 256 * 1024;

export interface TlsRecordInfo {
  type: number;
  version: number;
  length: number;
  /** frame of the record's first byte */
  frame: number;
  time: number;
  /** stream offset of the record header */
  off: number;
  /** the record is protected (after ChangeCipherSpec, or TLS 1.3 after the hellos) */
  encrypted: boolean;
  /** part of the body was not captured (snaplen or loss) */
  cut: boolean;
  /** handshake message types carried (plaintext, or decrypted with a key log) */
  handshakes: number[];
  /** frame of the record's last byte (set when the record ends) */
  endFrame?: number;
  /** bytes the capture missed (a hole, not a record): its length is the hole's, the records in it unknown */
  lost: boolean;
  /**
   * The record was sent before this frame, though captured after it: the peer acknowledged its first byte
   * there (an `-i any` or merged capture stamps the two directions by different clocks)
   */
  sentBefore?: number;
  /**
   * A hole that began where a record ended (the capture missed whole records from there on, not the
   * middle of one); `endsAtRecord`: and a record header follows right after it, so it holds whole records
   * only. (A hole that is the last of its stream ends where the stream does: its judge knows whether that
   * is the sender's FIN.)
   */
  startsAtRecord?: boolean;
  endsAtRecord?: boolean;
  /** read by decrypting the record with a key log */
  decrypted?: boolean;
  /** TLS 1.3, decrypted: the inner content type */
  innerType?: number;
}

export interface ClientHelloInfo {
  frame: number;
  legacyVersion: number;
  supportedVersions: number[];
  sni: string | null;
  alpn: string[];
  cipherSuites: number[];
  /** ClientHello.random, hex (the key log's index) */
  random: string;
}

export interface ServerHelloInfo {
  frame: number;
  legacyVersion: number;
  /** supported_versions extension (TLS 1.3), -1 if absent */
  selectedVersion: number;
  cipherSuite: number;
  helloRetryRequest: boolean;
  /** ServerHello.random, hex */
  random: string;
  /** the encrypt_then_mac extension (RFC 7366) was accepted */
  encryptThenMac: boolean;
}

export interface CertInfo {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  selfSigned: boolean;
  fingerprint256: string;
}

export interface AlertInfo {
  frame: number;
  time: number;
  /** 1 warning, 2 fatal; -1 when encrypted */
  level: number;
  /** description code; -1 when encrypted */
  description: number;
  name: string;
  encrypted: boolean;
  /** read by decrypting the record with a key log */
  decrypted?: boolean;
}

type State = 'start' | 'header' | 'body' | 'lost' | 'sslv2' | 'not-tls';

/** what a TLS stream tells the session it belongs to */
export interface TlsOwner {
  /** the consumer of a stream's bytes once they turned out not to be TLS (asked once, when they do) */
  fallbackFor(t: TlsStream): StreamConsumer | null;
  /** a ServerHello was read on stream `t` */
  serverHello(t: TlsStream, sh: ServerHelloInfo): void;
}

/** parses one direction of a TLS connection; `peerVersion` tells it when TLS 1.3 encryption starts */
export class TlsStream implements StreamConsumer {
  state: State = 'start';
  readonly records: TlsRecordInfo[] = [];
  recordCount = 0;
  readonly alerts: AlertInfo[] = [];
  clientHello: ClientHelloInfo | null = null;
  serverHello: ServerHelloInfo | null = null;
  helloRetry = false;
  certificates: CertInfo[] = [];
  certificateFrame = 0;
  readonly handshakeTypes: { type: number; frame: number }[] = [];
  ccsFrame = 0;
  /** the first bytes of the stream (for a not-TLS description) */
  firstBytes: Uint8Array = NO_BYTES;
  firstFrame = 0;
  /** TLS 1.3 negotiated on this connection: set by the session from the ServerHello */
  tls13 = false;
  /** SSLv2-format ClientHello seen */
  sslv2Hello = false;
  sslv2Version = -1;
  /** stream bytes we could not place into records (lost sync) */
  unsyncedBytes = 0;
  /** consumer of the bytes once the stream turned out not to be TLS */
  fallback: StreamConsumer | null = null;
  onServerHello: ((sh: ServerHelloInfo) => void) | null = null;
  /** the session this stream belongs to (one reference instead of a closure per callback) */
  owner: TlsOwner | null = null;
  /** the reassembly feeding this stream: what its receiver acknowledged, and in which frame, before bytes came */
  source: { acked: number; holeAckFrame: number } | null = null;
  /**
   * Set by the decryption stage: called at the end of every protected record with its body (the
   * captured part when `rec.cut`), the frame and time of its last byte, and for bytes whose record
   * boundaries were lost with a null body. Protected bodies are kept only while this is set.
   */
  onProtected: ((rec: TlsRecordInfo, body: Uint8Array | null, endFrame: number, endTime: number) => void) | null = null;
  /** the decryption stage wants protected bodies (off once it knows it has no key for this connection) */
  protectedBodies = true;
  private curFrame = 0;
  /** a ClientHello or ServerHello the snaplen cut: what its captured start tells (random; suite when there) */
  cutHello: { random: string; version: number; cipherSuite: number } | null = null;

  private lastTime = 0;
  /** the last hole that began at a record boundary, until the next bytes tell whether a record follows it */
  private holeAtRecord: TlsRecordInfo | null = null;
  /** a record header split across segments (allocated when one is) */
  private hdr = NO_BYTES;
  private hdrLen = 0;
  private cur: TlsRecordInfo | null = null;
  private scratch: TlsRecordInfo | null = null;
  private bodyLeft = 0;
  /** the body of the current record, kept only for handshake, alert and CCS records (bodyLen -1: not kept) */
  private bodyBuf = NO_BYTES;
  private bodyLen = -1;
  private hsBuf = NO_BYTES;
  private hsLen = 0;
  private hsBroken = false;
  private encrypted = false;

  constructor(private readonly maxRecordsKept = 256) {}

  private keep(bytes: Uint8Array, from: number, n: number): void {
    if (this.bodyBuf.length < this.bodyLen + n) {
      // the record's length is known: one buffer for the whole body
      const nb = new Uint8Array(Math.max(this.bodyBuf.length * 2, this.bodyLen + n, Math.min(this.cur?.length ?? 0, MAX_RECORD_LEN), 512));
      nb.set(this.bodyBuf.subarray(0, this.bodyLen));
      this.bodyBuf = nb;
    }
    // short pieces (most record bodies kept are a few bytes: alerts, CCS, small handshake messages) are
    // copied by hand; a view for set() would be an allocation per piece
    const buf = this.bodyBuf;
    if (n <= 64) for (let k = 0; k < n; k++) buf[this.bodyLen + k] = bytes[from + k]!;
    else buf.set(from === 0 && n === bytes.length ? bytes : bytes.subarray(from, from + n), this.bodyLen);
    this.bodyLen += n;
  }

  data(bytes: Uint8Array, off: number, frame: number, time: number): void {
    this.dataIn(bytes, 0, bytes.length, off, frame, time);
  }

  /** the captured bytes `src[start..end)` at stream offset `off` (no view made unless one is needed) */
  dataIn(src: Uint8Array, start: number, end: number, off: number, frame: number, time: number): void {
    this.lastTime = time;
    this.curFrame = frame;
    const hole = this.holeAtRecord;
    if (hole !== null) {
      this.holeAtRecord = null;
      if (this.state === 'lost' && off === hole.off + hole.length && plausibleHeaderIn(src, start, end)) hole.endsAtRecord = true;
    }
    if (this.state === 'start') {
      this.firstFrame = frame;
      const b0 = src[start]!;
      if (b0 & 0x80 && end - start >= 3 && (src[start + 2] === 1 || src[start + 2] === 4)) {
        // SSLv2 record header (2 bytes), then CLIENT-HELLO (1: version follows) or SERVER-HELLO (4: after
        // session-id-hit and certificate type)
        this.sslv2Hello = true;
        const v = start + (src[start + 2] === 1 ? 3 : 5);
        this.sslv2Version = end >= v + 2 ? (src[v]! << 8) | src[v + 1]! : -1;
        this.state = 'sslv2';
        return;
      }
      if (!tlsPrefixIn(src, start, end)) {
        // the first bytes are only shown for a stream that is not TLS: copied only then
        this.firstBytes = copyBytes(src, start, Math.min(end, start + 64));
        this.state = 'not-tls';
        this.fallbackConsumer()?.data(src.subarray(start, end), off, frame, time);
        return;
      }
      this.state = 'header';
    }
    if (this.state === 'not-tls') {
      this.fallbackConsumer()?.data(src.subarray(start, end), off, frame, time);
      return;
    }
    if (this.state === 'sslv2') return;
    let i = start;
    if (this.state === 'lost') {
      // a segment starting with a plausible record header puts us back in step
      if (plausibleHeaderIn(src, start, end)) {
        this.state = 'header';
        this.hdrLen = 0;
      } else {
        this.opaque(end - start, off, frame, time);
        return;
      }
    }
    while (i < end) {
      if (this.state === 'header') {
        if (this.hdrLen === 0 && end - i >= 5) {
          // the whole header is in this segment: read it where it lies
          i += 5;
          this.startRecord(src, i - 5, off + i - 5 - start, frame, time);
          // (a record of length 0, legal for application data, has ended already: the next header follows)
          if ((this.state as State) === 'lost') return;
          continue;
        }
        if (this.hdr.length === 0) this.hdr = new Uint8Array(5);
        const take = Math.min(5 - this.hdrLen, end - i);
        for (let k = 0; k < take; k++) this.hdr[this.hdrLen + k] = src[i + k]!;
        this.hdrLen += take;
        i += take;
        if (this.hdrLen < 5) return;
        this.startRecord(this.hdr, 0, off + i - 5 - start, frame, time);
        if ((this.state as State) === 'lost') return;
      } else if (this.state === 'body') {
        const take = Math.min(this.bodyLeft, end - i);
        if (this.bodyLen === 0 && take === this.bodyLeft && !this.cur!.cut) {
          // the whole body lies in this segment (most handshake, alert and CCS records): read it where
          // it lies instead of copying it into the stream's buffer
          this.bodyLeft = 0;
          i += take;
          this.endRecord(src.subarray(i - take, i));
          continue;
        }
        if (this.bodyLen >= 0 && !this.cur!.cut) this.keep(src, i, take);
        this.bodyLeft -= take;
        i += take;
        if (this.bodyLeft === 0) this.endRecord();
      } else return;
    }
  }

  /**
   * A stream set to wait for a record header (seen mid-stream) turns out to start at its first byte: it is
   * read from there, as long as nothing of it was read yet
   */
  startAtFirstByte(): void {
    if (this.state === 'lost' && this.recordCount === 0 && this.unsyncedBytes === 0) this.state = 'start';
  }

  private fallbackConsumer(): StreamConsumer | null {
    return (this.fallback ??= this.owner?.fallbackFor(this) ?? null);
  }

  gap(len: number, off: number, kind: GapKind, frame: number): void {
    if (this.state === 'not-tls') {
      // (what reads the bytes that are not TLS, plain HTTP, keeps its place, or reads a head the snaplen cut)
      this.fallbackConsumer()?.gap(len, off, kind, frame);
      return;
    }
    if (this.state === 'body') {
      // the body is incomplete: what was captured of it is kept for the message type, nothing is parsed from it
      this.cur!.cut = true;
      this.hsBroken = this.hsBroken || this.cur!.type === CT_HANDSHAKE;
      const take = Math.min(len, this.bodyLeft);
      this.bodyLeft -= take;
      len -= take;
      off += take;
      if (this.bodyLeft === 0) this.endRecord();
      if (len === 0) return;
    }
    this.holeAtRecord = null;
    if (this.state === 'header' || this.state === 'start') {
      if (this.state === 'header' && this.hdrLen === 0 && len === 0) return;
      // (bytes the capture missed from a record's first byte on: whole records, or the first part of one)
      const atRecord = this.state === 'header' && this.hdrLen === 0 && kind === 'loss';
      this.state = 'lost';
      this.hdrLen = 0;
      const rec = this.opaque(len, off, frame, this.lastTime, kind === 'loss');
      if (atRecord && rec !== null) {
        rec.startsAtRecord = true;
        this.holeAtRecord = rec;
      }
    } else if (this.state === 'lost') this.opaque(len, off, frame, this.lastTime, kind === 'loss');
  }

  /** bytes not placed in records; returns the record made for them (null: added to the last one) */
  private opaque(len: number, off: number, frame: number, time: number, lost = false): TlsRecordInfo | null {
    this.unsyncedBytes += len;
    const last = this.records.at(-1);
    if (last && last.type === CT_OPAQUE && last.frame === frame) {
      last.length += len;
      last.lost ||= lost;
      // (what it holds now no longer ends where a record starts, as far as anyone knows)
      last.endsAtRecord = false;
      if (this.holeAtRecord === last) this.holeAtRecord = null;
      return null;
    }
    this.recordCount++;
    const rec: TlsRecordInfo = { type: CT_OPAQUE, version: 0, length: len, frame, time, off, encrypted: true, cut: true, handshakes: NO_TYPES, endFrame: 0, lost: lost, startsAtRecord: false, endsAtRecord: false };
    if (this.records.length < this.maxRecordsKept) this.records.push(rec);
    this.onProtected?.(rec, null, frame, time);
    return rec;
  }

  /** the record header is the 5 bytes at `ho` in `h` */
  private startRecord(h: Uint8Array, ho: number, off: number, frame: number, time: number): void {
    const type = h[ho]!;
    const version = (h[ho + 1]! << 8) | h[ho + 2]!;
    const length = (h[ho + 3]! << 8) | h[ho + 4]!;
    this.hdrLen = 0;
    if (!plausibleHeader(h, ho)) {
      this.state = 'lost';
      return;
    }
    // application data is always protected; after ChangeCipherSpec everything is (TLS 1.3 hides the real type)
    const encrypted = this.encrypted || type === CT_APPDATA;
    this.recordCount++;
    let rec: TlsRecordInfo;
    if (this.records.length < this.maxRecordsKept) {
      rec = { type, version, length, frame, time, off, encrypted, cut: false, handshakes: NO_TYPES, endFrame: 0, lost: false };
      this.records.push(rec);
      const src = this.source;
      if (src !== null && src.holeAckFrame > 0 && src.holeAckFrame < frame && off < src.acked) rec.sentBefore = src.holeAckFrame;
    } else {
      // past the records kept, one scratch record per stream carries the current one to its end
      rec = this.scratch ??= { type, version, length, frame, time, off, encrypted, cut: false, handshakes: NO_TYPES, endFrame: 0, lost: false };
      rec.type = type;
      rec.version = version;
      rec.length = length;
      rec.frame = frame;
      rec.time = time;
      rec.off = off;
      rec.encrypted = encrypted;
      rec.cut = false;
      rec.handshakes = NO_TYPES;
    }
    this.cur = rec;
    this.bodyLeft = length;
    // handshake bodies are kept even after ChangeCipherSpec: TLS 1.3's compatibility CCS precedes a
    // second, plaintext ClientHello or ServerHello after a HelloRetryRequest (decided in endRecord)
    this.bodyLen = type === CT_HANDSHAKE || (!encrypted && (type === CT_ALERT || type === CT_CCS)) || (encrypted && this.onProtected && this.protectedBodies && type !== CT_CCS) ? 0 : -1;
    this.state = 'body';
    if (length === 0) this.endRecord();
  }

  /** the current record ends; its body is `inPlace` when it was read where it lay, else what was kept */
  private endRecord(inPlace: Uint8Array | null = null): void {
    const rec = this.cur!;
    const body = inPlace ?? (this.bodyLen >= 0 ? this.bodyBuf.subarray(0, this.bodyLen) : null);
    rec.endFrame = this.curFrame;
    this.endRecordPlain(rec, body);
    // the decryption stage reads protected records after their plaintext facts are in place
    if (this.onProtected && rec.encrypted && rec.type !== CT_CCS) this.onProtected(rec, body, this.curFrame, this.lastTime);
  }

  private endRecordPlain(rec: TlsRecordInfo, body: Uint8Array | null): void {
    this.state = 'header';
    this.bodyLen = -1;
    if (rec.type === CT_CCS) {
      if (!this.ccsFrame) this.ccsFrame = rec.frame;
      this.encrypted = true;
      // only a plaintext hello can follow (TLS 1.3 after a HelloRetryRequest): the big buffers can go
      if (this.bodyBuf.length > 512) this.bodyBuf = NO_BYTES;
      return;
    }
    if (rec.type === CT_APPDATA) {
      // application data means this side's keys are in use: what follows is protected too
      this.encrypted = true;
      return;
    }
    if (rec.type === CT_ALERT) {
      // a plaintext alert is exactly two bytes: a longer one is protected, whatever we knew of CCS
      if (body && !rec.encrypted && rec.length === 2) {
        // the snaplen may have cut the description (or the level too): keep what is there
        const level = body.length >= 1 ? body[0]! : -1;
        const description = body.length >= 2 ? body[1]! : -1;
        const name = description >= 0 ? (ALERTS[description] ?? `alert_${description}`) : 'alert (its description cut by the snaplen)';
        this.alerts.push({ frame: rec.frame, time: rec.time, level, description, name, encrypted: false });
      } else if (rec.encrypted || rec.length > 2) {
        this.alerts.push({ frame: rec.frame, time: rec.time, level: -1, description: -1, name: 'encrypted alert', encrypted: true });
      }
      return;
    }
    if (rec.type === CT_HANDSHAKE && rec.encrypted && body && isPlainHello(body, rec.length)) rec.encrypted = false;
    if (rec.type === CT_HANDSHAKE && !rec.encrypted && body) {
      if (rec.cut) {
        // a small snaplen keeps the record's first bytes: the type of the message that starts it
        if (this.hsLen === 0 && body.length >= 1) {
          addType(rec, body[0]!);
          this.handshakeTypes.push({ type: body[0]!, frame: rec.frame });
          if ((body[0] === HS.client_hello || body[0] === HS.server_hello) && body.length >= 38 && !this.cutHello) this.cutHello = cutHelloFields(body);
        }
        this.hsLen = 0;
        this.hsBroken = false;
        return;
      }
      this.appendHandshake(body, rec);
    }
  }

  private appendHandshake(b: Uint8Array, rec: TlsRecordInfo): void {
    if (this.hsBroken) {
      this.hsBroken = false;
      this.hsLen = 0;
    }
    if (this.hsLen + b.length > MAX_HANDSHAKE_MSG) {
      this.hsLen = 0;
      return;
    }
    // a record holding whole messages is parsed where it lies: hsBuf only carries a message split across records
    let buf: Uint8Array;
    let len: number;
    if (this.hsLen === 0) {
      buf = b;
      len = b.length;
    } else {
      this.hsReserve(this.hsLen + b.length);
      this.hsBuf.set(b, this.hsLen);
      this.hsLen += b.length;
      buf = this.hsBuf;
      len = this.hsLen;
    }
    let p = 0;
    while (len - p >= 4) {
      const t = buf[p]!;
      const l = (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
      if (!HS_TYPES.has(t)) {
        // not a handshake message (protected bytes, or not TLS at all): nothing here to parse or keep
        this.hsLen = 0;
        this.hsBuf = NO_BYTES;
        return;
      }
      if (len - p - 4 < l) {
        // a message longer than any handshake message is not one (protected bytes that look like a
        // header): nothing is kept for it
        if (l > MAX_HANDSHAKE_MSG) {
          this.hsLen = 0;
          this.hsBuf = NO_BYTES;
          return;
        }
        break;
      }
      const msg = buf.subarray(p + 4, p + 4 + l);
      addType(rec, t);
      this.handshakeTypes.push({ type: t, frame: rec.frame });
      this.handshake(t, msg, rec);
      p += 4 + l;
    }
    if (buf === this.hsBuf) {
      this.hsBuf.copyWithin(0, p, this.hsLen);
      this.hsLen -= p;
      // no message pending: the buffer goes (most streams never split another one)
      if (this.hsLen === 0) this.hsBuf = NO_BYTES;
    } else if (p < len) {
      // room for what is here only, not for the length the header says: bytes that are not handshake
      // messages say any length, and an ArrayBuffer's allocation costs the more the larger it is (zeroed,
      // external memory that hastens collections); a message coming in pieces grows the buffer by doubling
      this.hsReserve(len - p);
      this.hsBuf.set(buf.subarray(p, len), 0);
      this.hsLen = len - p;
    }
  }

  private hsReserve(n: number): void {
    if (this.hsBuf.length < n) {
      const nb = new Uint8Array(Math.max(this.hsBuf.length * 2, n));
      nb.set(this.hsBuf.subarray(0, this.hsLen));
      this.hsBuf = nb;
    }
  }

  private handshake(t: number, m: Uint8Array, rec: TlsRecordInfo): void {
    try {
      if (t === HS.client_hello) this.clientHello = parseClientHello(m, rec.frame);
      else if (t === HS.server_hello) {
        const sh = parseServerHello(m, rec.frame);
        if (sh) {
          if (sh.helloRetryRequest) this.helloRetry = true;
          this.serverHello = sh;
          if (!sh.helloRetryRequest && sh.selectedVersion === 0x0304) this.tls13 = true;
          this.onServerHello?.(sh);
          this.owner?.serverHello(this, sh);
        }
      } else if (t === HS.certificate && !this.tls13) {
        this.certificateFrame = rec.frame;
        this.certificates = parseCertificateList(m);
      }
    } catch {
      // a malformed message: its type is recorded, its fields are not
    }
  }

  /** mark this direction as encrypted from now on (TLS 1.3 after the ServerHello) */
  startEncryption(): void {
    this.tls13 = true;
  }

  /** records by type after the handshake, for the session's reasoning */
  get appDataRecords(): TlsRecordInfo[] {
    return this.records.filter((r) => r.type === CT_APPDATA);
  }
}

/** the fixed start of a hello: version, random, and for a ServerHello the suite after the session id */
function cutHelloFields(b: Uint8Array): { random: string; version: number; cipherSuite: number } {
  const version = (b[4]! << 8) | b[5]!;
  const random = Buffer.from(b.subarray(6, 38)).toString('hex');
  let cipherSuite = -1;
  if (b[0] === HS.server_hello && b.length >= 39) {
    const at = 39 + b[38]!;
    if (b.length >= at + 2) cipherSuite = (b[at]! << 8) | b[at + 1]!;
  }
  return { random, version, cipherSuite };
}

/** a whole ClientHello or ServerHello filling the record: plaintext even after a compatibility CCS */
function isPlainHello(body: Uint8Array, recordLength: number): boolean {
  if (body.length < 4) return false;
  const t = body[0]!;
  return (t === HS.client_hello || t === HS.server_hello) && ((body[1]! << 16) | (body[2]! << 8) | body[3]!) === recordLength - 4;
}

/**
 * The first bytes of a stream are consistent with a TLS record header as far as they go: a snaplen of
 * 68 leaves two bytes of payload (0x16 0x03), which must not make a TLS stream "not TLS".
 */
export function tlsPrefix(b: Uint8Array): boolean {
  return tlsPrefixIn(b, 0, b.length);
}

/** tlsPrefix over src[start..end) */
function tlsPrefixIn(b: Uint8Array, start: number, end: number): boolean {
  const n = Math.min(end - start, 5);
  if (n <= 0) return false;
  if (b[start]! < CT_CCS || b[start]! > CT_HEARTBEAT) return false;
  if (n >= 2 && b[start + 1] !== 3) return false;
  if (n >= 3 && b[start + 2]! > 4) return false;
  if (n >= 5 && ((b[start + 3]! << 8) | b[start + 4]!) > MAX_RECORD_LEN) return false;
  return true;
}

/** plausibleHeader at `i` of bytes that end at `end` */
function plausibleHeaderIn(b: Uint8Array, i: number, end: number): boolean {
  if (end - i < 3) return false;
  const t = b[i]!;
  if (t < CT_CCS || t > CT_HEARTBEAT) return false;
  if (b[i + 1] !== 3 || b[i + 2]! > 4) return false;
  if (end - i >= 5) {
    const len = (b[i + 3]! << 8) | b[i + 4]!;
    if (len > MAX_RECORD_LEN) return false;
  }
  return true;
}

export function plausibleHeader(b: Uint8Array, i: number): boolean {
  return plausibleHeaderIn(b, i, b.length);
}

class Reader {
  p = 0;
  constructor(readonly b: Uint8Array) {}
  u8(): number {
    if (this.p + 1 > this.b.length) throw new RangeError('short');
    return this.b[this.p++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u24(): number {
    return (this.u8() << 16) | (this.u8() << 8) | this.u8();
  }
  bytes(n: number): Uint8Array {
    if (this.p + n > this.b.length) throw new RangeError('short');
    const r = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return r;
  }
  get left(): number {
    return this.b.length - this.p;
  }
}

function parseClientHello(m: Uint8Array, frame: number): ClientHelloInfo {
  const r = new Reader(m);
  const info: ClientHelloInfo = { frame, legacyVersion: r.u16(), supportedVersions: [], sni: null, alpn: [], cipherSuites: [], random: '' };
  info.random = Buffer.from(r.bytes(32)).toString('hex');
  r.bytes(r.u8());
  const cs = new Reader(r.bytes(r.u16()));
  while (cs.left >= 2) info.cipherSuites.push(cs.u16());
  r.bytes(r.u8());
  if (r.left < 2) return info;
  const ext = new Reader(r.bytes(r.u16()));
  while (ext.left >= 4) {
    const type = ext.u16();
    const data = new Reader(ext.bytes(ext.u16()));
    if (type === 0 && data.left >= 2) {
      const list = new Reader(data.bytes(data.u16()));
      while (list.left >= 3) {
        const nt = list.u8();
        const name = list.bytes(list.u16());
        if (nt === 0) info.sni = utf8.decode(name);
      }
    } else if (type === 16 && data.left >= 2) {
      const list = new Reader(data.bytes(data.u16()));
      while (list.left >= 1) info.alpn.push(utf8.decode(list.bytes(list.u8())));
    } else if (type === 43 && data.left >= 1) {
      const list = new Reader(data.bytes(data.u8()));
      while (list.left >= 2) info.supportedVersions.push(list.u16());
    }
  }
  return info;
}

function parseServerHello(m: Uint8Array, frame: number): ServerHelloInfo | null {
  const r = new Reader(m);
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const hrr = Buffer.from(random).toString('hex') === HRR_RANDOM;
  r.bytes(r.u8());
  const cipherSuite = r.u16();
  r.u8();
  let selectedVersion = -1;
  let encryptThenMac = false;
  if (r.left >= 2) {
    const ext = new Reader(r.bytes(r.u16()));
    while (ext.left >= 4) {
      const type = ext.u16();
      const data = ext.bytes(ext.u16());
      if (type === 43 && data.length >= 2) selectedVersion = (data[0]! << 8) | data[1]!;
      else if (type === 22) encryptThenMac = true;
    }
  }
  return { frame, legacyVersion, selectedVersion, cipherSuite, helloRetryRequest: hrr, random: Buffer.from(random).toString('hex'), encryptThenMac };
}

/** a Certificate message's chain; TLS 1.3 adds a request context and extensions per entry (RFC 8446 4.4.2) */
export function parseCertificateList(m: Uint8Array, tls13 = false): CertInfo[] {
  const r = new Reader(m);
  if (tls13) r.bytes(r.u8());
  const list = new Reader(r.bytes(r.u24()));
  const out: CertInfo[] = [];
  while (list.left >= 3) {
    const der = list.bytes(list.u24());
    if (tls13) list.bytes(list.u16());
    try {
      const x = new X509Certificate(der);
      out.push({
        subject: x.subject.replace(/\n/g, ', '),
        issuer: x.issuer.replace(/\n/g, ', '),
        validFrom: x.validFrom,
        validTo: x.validTo,
        selfSigned: x.subject === x.issuer,
        fingerprint256: x.fingerprint256,
      });
    } catch {
      out.push({ subject: '(unparsable certificate)', issuer: '', validFrom: '', validTo: '', selfSigned: false, fingerprint256: '' });
    }
  }
  return out;
}
