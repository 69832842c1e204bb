/**
 * The decrypted view of a capture, frame by frame, in the words of tshark's TLS and HTTP fields
 * (tls.record.version, tls.record.content_type, tls.record.opaque_type, tls.handshake.type,
 * tls.alert_message.*, http.request.*, http.response.code): what `tshark -o tls.keylog_file:KEYS` shows.
 * Every TCP connection on any port is followed; TLS may start after a clear-text prologue (a STARTTLS
 * such as MySQL's): the first segment of a direction that starts with a TLS handshake record begins it.
 * A record is listed in the frame that holds its last byte, as tshark lists reassembled records.
 */
import { Decoder } from '../decode/packet.js';
import { ConnTracker, attachConsumers, type Connection } from '../flow/conn.js';
import type { GapKind, StreamConsumer } from '../flow/reassembly.js';
import { readCapture, type CaptureInput, type ReadOptions } from '../input/reader.js';
import { TlsDecryptor, type DecryptedRecord } from './decrypt.js';
import { HttpStream } from './http.js';
import type { KeyLog } from './keylog.js';
import { CT_ALERT, CT_OPAQUE, TlsStream, type TlsRecordInfo } from './tls.js';

export interface DecryptedFrame {
  frame: number;
  /** per record ending in this frame */
  versions: number[];
  contentTypes: number[];
  /** TLS 1.3 decrypted records: the type on the wire (23) */
  opaqueTypes: number[];
  handshakeTypes: number[];
  alertLevels: number[];
  alertDescriptions: number[];
  httpMethods: string[];
  httpUris: string[];
  httpStatus: number[];
}

export interface DecryptedCapture {
  frames: Map<number, DecryptedFrame>;
  /** per TLS connection: its decryption facts */
  connections: { client: string; server: string; decryptor: TlsDecryptor; clientTls: TlsStream; serverTls: TlsStream; clientHttp: HttpStream; serverHttp: HttpStream }[];
}

class Side implements StreamConsumer {
  started = false;
  constructor(readonly tls: TlsStream) {}
  data(bytes: Uint8Array, off: number, frame: number, time: number): void {
    if (!this.started) {
      // a TLS handshake record header starts the TLS part of the stream
      if (bytes.length >= 3 && bytes[0] === 22 && bytes[1] === 3 && bytes[2]! <= 4) this.started = true;
      else return;
    }
    this.tls.data(bytes, off, frame, time);
  }
  gap(len: number, off: number, kind: GapKind, frame: number): void {
    if (this.started) this.tls.gap(len, off, kind, frame);
  }
}

export async function decryptedView(input: CaptureInput, keyLog: KeyLog, opts: ReadOptions = {}): Promise<DecryptedCapture> {
  const decoder = new Decoder();
  const out: DecryptedCapture = { frames: new Map(), connections: [] };
  const open: { c: Connection; client: TlsStream; server: TlsStream; d: TlsDecryptor; ch: HttpStream; sh: HttpStream }[] = [];
  const tracker = new ConnTracker({
    port: -1,
    onOpen: (c) => {
      const client = new TlsStream(1 << 20);
      const server = new TlsStream(1 << 20);
      server.onServerHello = (sh) => {
        if (sh.selectedVersion === 0x0304 && !sh.helloRetryRequest) client.startEncryption();
      };
      const ch = new HttpStream('client');
      const sh = new HttpStream('server');
      const d = new TlsDecryptor(keyLog, client, server, (dir, data, off, frame, time, missing) => {
        const h = dir === 'c' ? ch : sh;
        h.data(data, off, frame, time);
        if (missing > 0) h.gap(missing, off + data.length, 'snaplen', frame);
      });
      d.keepView = true;
      attachConsumers(c, new Side(client), new Side(server));
      open.push({ c, client, server, d, ch, sh });
    },
  });
  await readCapture(
    input,
    (frame) => {
      const p = decoder.decode(frame);
      if (p.ipVersion === 0 || !p.isTcp) return;
      tracker.add(p, frame.tsSec + frame.tsNsec / 1e9);
    },
    { ...opts, onSecret: (s) => (s.type === 0x544c534b ? keyLog.addText(Buffer.from(s.data).toString('utf8'), 'Decryption Secrets Block') : undefined) },
  );
  tracker.finish();
  const row = (n: number): DecryptedFrame => {
    let r = out.frames.get(n);
    if (!r) out.frames.set(n, (r = { frame: n, versions: [], contentTypes: [], opaqueTypes: [], handshakeTypes: [], alertLevels: [], alertDescriptions: [], httpMethods: [], httpUris: [], httpStatus: [] }));
    return r;
  };
  for (const o of open) {
    o.ch.end();
    o.sh.end();
    if (o.client.recordCount + o.server.recordCount === 0) continue;
    out.connections.push({ client: `${o.c.client.addr}:${o.c.client.port}`, server: `${o.c.server.addr}:${o.c.server.port}`, decryptor: o.d, clientTls: o.client, serverTls: o.server, clientHttp: o.ch, serverHttp: o.sh });
    const byRec = new Map<TlsRecordInfo, DecryptedRecord>();
    for (const v of o.d.view) if (v.rec) byRec.set(v.rec, v);
    for (const t of [o.client, o.server]) {
      let alertIdx = 0;
      for (const rec of t.records) {
        if (rec.type === CT_OPAQUE || !rec.endFrame) continue;
        const r = row(rec.endFrame);
        const v = byRec.get(rec);
        r.versions.push(rec.version);
        if (rec.innerType !== undefined) {
          r.contentTypes.push(rec.innerType);
          r.opaqueTypes.push(rec.type);
        } else r.contentTypes.push(rec.type);
        r.handshakeTypes.push(...rec.handshakes);
        if (v?.alert) {
          r.alertLevels.push(v.alert.level);
          r.alertDescriptions.push(v.alert.description);
        } else if (rec.type === CT_ALERT && !rec.encrypted) {
          const a = t.alerts.filter((x) => !x.encrypted && !x.decrypted)[alertIdx++];
          if (a && a.level >= 0) {
            r.alertLevels.push(a.level);
            r.alertDescriptions.push(a.description);
          }
        }
      }
    }
    for (const m of o.ch.messages) {
      const r = row(m.frame);
      r.httpMethods.push(m.method ?? '');
      r.httpUris.push(m.target ?? '');
    }
    for (const m of o.sh.messages) if (m.status !== undefined) row(m.frame).httpStatus.push(m.status);
  }
  return out;
}
