/**
 * The verdict of one connection, from protocol facts in order of the layers: TCP (handshake answered?
 * reset? data stuck?), then TLS (records, alerts, who stopped the handshake), then the application
 * (HTTP in clear, or the shape of the encrypted exchange). Each finding carries the frames that prove it.
 */
import type { Connection, DirStats } from '../flow/conn.js';
import { header, type HttpMessage } from '../protocols/http.js';
import type { Session } from '../protocols/session.js';
import { CT_ALERT, CT_APPDATA, CT_CCS, CT_HANDSHAKE, CT_OPAQUE, HS, versionName, type AlertInfo, type TlsRecordInfo, type TlsStream } from '../protocols/tls.js';
import { icmpName, VERDICT_OF, type Reason, type Verdict } from './hints.js';
import { hostPort } from '../decode/addr.js';

export interface Evidence {
  frame: number;
  text: string;
  /** evidence read in a log beside the capture (frame is then the connection's frame it is about) */
  log?: { file: string; line: number };
}

/** one exchange on an encrypted connection: the client's request records and the server's answer */
export interface Exchange {
  requestFrame: number;
  requestBytes: number;
  responseFrame: number;
  responseBytes: number;
  /** its request holds bytes the capture missed: where it starts and ends, and its size, are not sure */
  requestLost: boolean;
  /** its answer holds bytes the capture missed: the same for the answer */
  responseLost: boolean;
}

export interface ConnFinding {
  verdict: Verdict;
  reason: Reason;
  /** one sentence */
  summary: string;
  evidence: Evidence[];
  /** the reason was inferred from sizes, order and timing rather than read */
  inferred: boolean;
  /** an encrypted connection with one exchange then a close: judged across connections */
  singleExchange: boolean;
  exchanges: Exchange[];
  tlsVersion: string | null;
  handshakeComplete: boolean;
  http: { method?: string; target?: string; status?: number; error?: string; description?: string; frame: number; decrypted?: boolean }[];
  /** payload cut by the snaplen: what could not be read */
  payloadCut: boolean;
}

const FATAL_CERT = new Set([42, 43, 44, 45, 46, 48, 49]);
/**
 * A TLS 1.3 record this short is an encrypted alert (2 bytes + content type + 16-byte AEAD tag), not data.
 * TLS 1.2 shows alerts by their record type, so there every application-data record is data.
 */
const TLS13_ALERT_MAX = 19;

/**
 * The verdict of one connection. `evidence` false: the evidence lines are not written (a connection that
 * is neither listed nor streamed out only counts in its server's verdict); everything else is the same.
 */
export function judgeConnection(c: Connection, s: Session, evidence = true): ConnFinding {
  const f = judgeInner(c, s, evidence);
  const d = s.decryptor;
  if (d && d.records > 0) {
    // a key log was used: say what did not decrypt, and that the verdict then rests on inference
    const first = d.failures[0];
    if (d.decrypted === 0) {
      const why = d.problem || first?.why || 'no record decrypted';
      f.evidence.push({ frame: first?.frame || c.firstFrame, text: `decryption: none of ${d.records} protected records decrypted: ${why}` });
      if (f.inferred) f.summary += ` (inferred: the key log did not decrypt this connection: ${why})`;
    } else if (d.failed > 0) {
      f.evidence.push({ frame: first!.frame, text: `decryption: ${d.failed} of ${d.records} protected records not decrypted whole (first: ${first!.dir === 'c' ? 'client' : 'server'} ${first!.why})` });
      if (f.inferred) f.summary += ` (inferred: ${d.failed} of ${d.records} records did not decrypt)`;
    }
  }
  return f;
}

/**
 * The application layer read from decrypted HTTP (a key log): the token call's answer and the calls that
 * follow, instead of record sizes. Null when nothing was read (the inference then decides).
 */
function fromDecrypted(s: Session, set: Setter, ev: Evid): ConnFinding | null {
  if (!s.decryptor || !s.clientApp || !s.serverApp) return null;
  const reqs = s.clientApp.messages.filter((m) => m.kind === 'request');
  const resps = s.serverApp.messages.filter((m) => m.kind === 'response');
  if (resps.length === 0) return null;
  const src = s.decryptor.source ? ` (decrypted with ${s.decryptor.source})` : ' (decrypted)';
  const call = (q: HttpMessage | undefined) => (q ? `${q.method} ${q.target}` : 'the request');
  for (let i = 0; i < Math.min(6, Math.max(reqs.length, resps.length)); i++) {
    const q = reqs[i];
    const a = resps[i];
    if (q) ev(q.frame, `decrypted request: ${q.method} ${q.target}`);
    if (a) {
      const e = oauthError(a);
      ev(a.frame, `decrypted answer: HTTP ${a.status} ${a.reason ?? ''}${e ? ` ${e.error}${e.description ? ` (${e.description})` : ''}` : ''}${a.cut ? ' (the rest cut by the snaplen)' : ''}`.replace(/ +/g, ' '));
    }
  }
  const bad = resps.find((a) => (a.status ?? 0) >= 400);
  if (bad) {
    const i = resps.indexOf(bad);
    const what = call(reqs[i]);
    const e = oauthError(bad);
    if (e?.error === 'invalid_client') return set('invalid-client', `${what} is answered ${bad.status} invalid_client${e.description ? ` (${e.description})` : ''}${src}`);
    if (e?.error === 'invalid_grant') return set('invalid-grant', `${what} is answered ${bad.status} invalid_grant${e.description ? ` (${e.description})` : ''}${src}`);
    if (!e && (bad.status === 401 || bad.status === 403) && (bad.cut || !bad.complete)) {
      // the status line decrypted, the error document was cut: refused, its reason unseen
      return set('auth-rejected', `${what} is answered ${bad.status} ${bad.reason ?? ''}${src}; its error document was cut by the snaplen`.replace(/ +/g, ' '));
    }
    return set('http-error', `${what} is answered ${bad.status} ${bad.reason ?? ''}${e ? ` ${e.error}` : ''}${src}`.replace(/ +/g, ' '));
  }
  const first = resps[0]!;
  if (resps.length >= 2) return set('ok', `${call(reqs[0])} is answered ${first.status} and ${resps.length - 1} more call${resps.length > 2 ? 's are' : ' is'} answered on the same connection${src}`);
  return set('ok', `${call(reqs[0])} is answered ${first.status}${src}`);
}

/** the evidence callback of a judgement whose evidence nobody reads */
const noEvidence: Evid = () => {};

function judgeInner(c: Connection, s: Session, loud: boolean): ConnFinding {
  const f: ConnFinding = {
    verdict: 'inconclusive',
    reason: 'capture-incomplete',
    summary: '',
    evidence: [],
    inferred: false,
    singleExchange: false,
    exchanges: [],
    tlsVersion: null,
    handshakeComplete: false,
    http: [],
    payloadCut: c.orig.stream.stats.snaplenBytes + c.resp.stream.stats.snaplenBytes > 0,
  };
  const set = (reason: Reason, summary: string, inferred = false) => {
    f.reason = reason;
    f.verdict = VERDICT_OF[reason];
    f.summary = summary;
    f.inferred = inferred;
    return f;
  };
  // (lines whose text takes building are guarded by `loud` where they are written)
  const ev = loud
    ? (frame: number, text: string) => {
        if (frame > 0) f.evidence.push({ frame, text });
      }
    : noEvidence;
  const o = c.orig;
  const r = c.resp;
  const srv = hostPort(c.server.addr, c.server.port);

  // ---- TCP: was the SYN answered?
  if (o.syn > 0 && r.syn === 0 && !c.midstream) {
    if (loud) ev(o.synFrame, `SYN ${hostPort(c.client.addr, c.client.port)} -> ${srv}`);
    if (c.icmp.length > 0) {
      const i = c.icmp[0]!;
      const name = icmpName(i.type, i.code, i.v6);
      if (loud) ev(i.frame, `ICMP${i.v6 ? 'v6' : ''} destination unreachable (${name}, type ${i.type} code ${i.code}) from ${i.from}, ${i.cut ? 'sent to the client right after its SYN (the snaplen cut the quoted ports)' : 'quoting the SYN'}`);
      return set('icmp-unreachable', `the SYN to ${srv} is answered by ICMP${i.v6 ? 'v6' : ''} ${name} from ${i.from}${i.from === c.server.addr ? '' : ' (a device on the path, not the server)'}`);
    }
    if (r.rstFrame) {
      if (loud) ev(r.rstFrame, `RST from ${srv}: nothing listens on the port`);
      return set('refused', `the SYN to ${srv} is answered by RST: the host is up but nothing listens on port ${c.server.port}`);
    }
    if (o.syn > 1 || c.duration >= 1) {
      const last = loud ? c.events.filter((e) => e.what.startsWith('SYN')).at(-1) : undefined;
      if (loud && last && last.frame !== o.synFrame) ev(last.frame, `SYN sent ${o.syn} times over ${c.duration.toFixed(1)} s, never answered`);
      return set('no-response', `${o.syn} SYN${o.syn > 1 ? 's' : ''} to ${srv} over ${c.duration.toFixed(1)} s, never answered by SYN-ACK, RST or ICMP`);
    }
    return set('capture-incomplete', `one SYN to ${srv} and the capture ends before any answer could come`);
  }

  // ---- proxy legs
  if (s.proxy) {
    const p = s.proxy;
    const ct0 = s.clientTls;
    const st0 = s.serverTls;
    if (loud) ev(p.requestFrame, `CONNECT ${p.target} to the proxy ${srv}${p.authorization ? ' (with Proxy-Authorization)' : ''}`);
    if (p.status === 407) {
      if (loud) ev(p.responseFrame, `HTTP ${p.status} ${p.reason} from the proxy`);
      return set('proxy-auth-required', `the proxy ${srv} answers the CONNECT to ${p.target} with 407 Proxy Authentication Required`);
    }
    if (p.status === 502 || p.status === 503 || p.status === 504) {
      if (loud) ev(p.responseFrame, `HTTP ${p.status} ${p.reason} from the proxy: it could not reach ${p.target}`);
      return set('proxy-upstream-failed', `the proxy ${srv} answers the CONNECT to ${p.target} with ${p.status} ${p.reason}: it could not build the tunnel`);
    }
    if (p.status >= 0 && p.status !== 200) {
      if (loud) ev(p.responseFrame, `HTTP ${p.status} ${p.reason} from the proxy`);
      return set('proxy-refused', `the proxy ${srv} refuses the CONNECT to ${p.target} (${p.status} ${p.reason})`);
    }
    // (its answer missed by the capture, and the client speaking TLS through the tunnel after it: it was a 200)
    const openedUnseen = p.status < 0 && p.answerMissed && (ct0.clientHello !== null || ct0.records.length > 0) && st0.records.some((x) => x.type !== CT_OPAQUE);
    if (p.status < 0 && !openedUnseen) {
      if (r.rstFrame || o.rstFrame) {
        ev(r.rstFrame || o.rstFrame, 'the proxy connection is reset before the proxy answers the CONNECT');
        return set('proxy-refused', `the connection to the proxy ${srv} is reset before it answers the CONNECT to ${p.target}`);
      }
      return set('capture-incomplete', `the proxy ${srv} has not answered the CONNECT to ${p.target} when the capture ends`);
    }
    if (loud && openedUnseen) ev(p.requestFrame, `the proxy's answer is not in the capture (the client acknowledged it), and TLS to ${p.target} follows both ways: the tunnel opened`);
    else if (loud) ev(p.responseFrame, `HTTP 200 from the proxy: tunnel to ${p.target} open`);
  }

  // ---- stalled path: data repeated without the receiver ever acknowledging it
  const stalled = stalledDirection(c);
  if (stalled) {
    ev(stalled.frame, stalled.text);
    return set('stalled', stalled.summary);
  }

  // ---- TLS
  const ct = s.clientTls;
  const st = s.serverTls;
  if (c.segments.length > 0 && !typed(ct) && !typed(st) && s.clientKind !== 'http') return judgeBlind(c, f, set, ev, srv);
  if (c.midstream) ev(c.firstFrame, 'the capture starts inside this connection (no SYN seen): its handshakes are not in the capture');
  if (ct.sslv2Hello || st.sslv2Hello) {
    const side = ct.sslv2Hello ? ct : st;
    if (loud) ev(side.firstFrame, `SSLv2-format ${ct.sslv2Hello ? 'ClientHello' : 'ServerHello'} (${versionName(side.sslv2Version)})`);
    const a = firstFatal(st);
    if (loud && a) ev(a.frame, `server alert ${a.name}`);
    if (a && a.description !== 70) return set('handshake-failure', `the client offers an SSLv2-format hello, and ${srv} ends the handshake with ${a.name}`);
    return set('protocol-version', st.sslv2Hello ? `${srv} answers in SSL 2.0, a version no current client accepts` : `the client offers an SSLv2-format hello, which ${srv} does not accept`);
  }
  if (s.clientKind === 'http' || ct.state === 'not-tls') {
    const req = s.clientHttp.messages.find((m) => m.kind === 'request');
    if (loud) ev(ct.firstFrame, `the client's first bytes are not a TLS record: ${printable(ct.firstBytes)}`);
    const resp = s.serverHttp.messages.find((m) => m.kind === 'response');
    if (loud && resp) ev(resp.frame, `the server answers in clear: HTTP ${resp.status} ${resp.reason}`);
    addHttp(f, s);
    // both sides speak HTTP and the server's answer is an OAuth refusal (RFC 6749 error document): a plain-HTTP
    // OAuth service refused the credentials, read in clear (a TLS port's web server answers plain HTTP with its
    // own 400 page, not an OAuth error)
    for (const m of s.serverHttp.messages) {
      const e = m.kind === 'response' && (m.status ?? 0) >= 400 ? oauthError(m) : null;
      if (e && (e.error === 'invalid_client' || e.error === 'invalid_grant')) {
        if (loud && !resp) ev(m.frame, `the server answers in clear: HTTP ${m.status} ${m.reason}`);
        return set(e.error === 'invalid_client' ? 'invalid-client' : 'invalid-grant', `${req ? `${req.method} ${stripQuery(req.target)}` : 'the token call'} in plain HTTP (no TLS) to ${srv} is answered ${m.status} ${e.error}${e.description ? ` (${e.description})` : ''}`);
      }
    }
    // ... or its text was cut by the snaplen: a 401 or 403 to the token call is that service refusing the credentials
    // (a TLS port's web server answers plain HTTP with 400, and never on an OAuth path)
    const cut = s.serverHttp.messages.find((m) => m.kind === 'response' && (m.status === 401 || m.status === 403) && (m.cut === true || !m.complete));
    if (cut && req?.target && /oauth|token/i.test(stripQuery(req.target))) {
      return set('auth-rejected', `${req.method} ${stripQuery(req.target)} in plain HTTP (no TLS) to ${srv} is answered ${cut.status} ${cut.reason ?? ''}`.trimEnd() + ' (its error text cut by the snaplen)', true);
    }
    return set('not-tls', req ? `the client sends plain HTTP (${req.method} ${stripQuery(req.target)}) to ${srv}, which expects TLS` : `the client's bytes to ${srv} are not TLS`);
  }
  if (st.state === 'not-tls') {
    ev(ct.firstFrame, 'ClientHello');
    const resp = s.serverHttp.messages.find((m) => m.kind === 'response');
    if (loud) ev(st.firstFrame, resp ? `the server answers in clear: HTTP ${resp.status} ${resp.reason}` : `the server's bytes are not TLS: ${printable(st.firstBytes)}`);
    addHttp(f, s);
    return set('not-tls', `the service on ${srv} does not speak TLS: it answers the ClientHello with ${resp ? `plain HTTP ${resp.status}` : 'bytes that are not TLS records'}`);
  }
  const ch = ct.clientHello;
  const sh = st.serverHello;
  const tls13 = s.tls13;
  f.tlsVersion = sh
    ? versionName(sh.selectedVersion > 0 ? sh.selectedVersion : sh.legacyVersion)
    : tls13
      ? 'TLS 1.3'
      : st.records[0] && st.records[0].type !== CT_OPAQUE
        ? versionName(st.records[0].version)
        : null;
  if (loud && !sh && tls13) ev(st.records.find((r) => r.type === CT_APPDATA)?.frame ?? 0, 'TLS 1.3 (inferred from record types: application data right after the ChangeCipherSpec, the ServerHello itself was cut)');
  if (loud && ch) ev(ch.frame, `ClientHello${ch.sni ? ` SNI ${ch.sni}` : ''}, offers ${ch.supportedVersions.length ? ch.supportedVersions.filter((v) => (v & 0x0f0f) !== 0x0a0a).map(versionName).join('/') : versionName(ch.legacyVersion)}`);
  else if (ct.records[0]?.type === CT_HANDSHAKE) ev(ct.records[0].frame, 'ClientHello (payload cut by the snaplen)');
  if (loud && sh) ev(sh.frame, `${sh.helloRetryRequest ? 'HelloRetryRequest' : 'ServerHello'} ${f.tlsVersion}`);
  else if (st.records[0]?.type === CT_HANDSHAKE) ev(st.records[0].frame, 'server handshake flight (payload cut by the snaplen)');

  // fatal alerts in clear
  const alert = firstFatal(st) ?? firstFatal(ct);
  if (alert) {
    const fromServer = st.alerts.includes(alert);
    if (loud) ev(alert.frame, `${fromServer ? 'server' : 'client'} sends fatal alert ${alert.name} (${alert.description})${alert.decrypted ? ', read by decrypting it with the key log' : ''}`);
    const who = fromServer ? `the server ${srv}` : 'the client';
    if (alert.description < 0) {
      // the description was cut: who sent it, and when, still tells the layer
      const afterFlight = !fromServer && st.recordCount > 0;
      if (afterFlight) {
        if (loud && st.certificates.length) ev(st.certificateFrame, `server certificate: ${st.certificates[0]!.subject}, issued by ${st.certificates[0]!.issuer}`);
        return set('untrusted-certificate', `the client answers the server's certificate flight with a fatal alert and leaves (inferred: its description was cut by the snaplen)`, true);
      }
      return set('handshake-failure', `${who} ends the handshake with a fatal alert (its description was cut by the snaplen)`, true);
    }
    if (FATAL_CERT.has(alert.description)) {
      // the certificate refused: the server's when the client sends the alert, the client's (read in TLS 1.2, or decrypted in 1.3) when the server does
      const refused = fromServer ? ct : st;
      if (loud && refused.certificates.length) ev(refused.certificateFrame, `${fromServer ? 'client' : 'server'} certificate: ${refused.certificates[0]!.subject}, issued by ${refused.certificates[0]!.issuer}`);
      return set('untrusted-certificate', `${who} rejects the ${fromServer ? "client's" : "server's"} certificate: fatal alert ${alert.name}`);
    }
    if (alert.description === 70) {
      const offered = ch?.supportedVersions.length ? ch.supportedVersions.filter((v) => (v & 0x0f0f) !== 0x0a0a).map(versionName).join('/') : ch ? versionName(ch.legacyVersion) : 'its versions';
      return set('protocol-version', `${who} answers with fatal alert protocol_version: no TLS version in common (the client offers ${offered})`);
    }
    return set('handshake-failure', `${who} ends the handshake with fatal alert ${alert.name}`);
  }

  // (seen from the middle, after the handshake: asked once, read by the handshake test and the exchanges)
  const after = afterHandshake(s);
  const complete = handshakeComplete(s, tls13, after);
  f.handshakeComplete = complete.done;
  if (complete.done) {
    ev(complete.frame, complete.text);
  } else {
    // who stopped the handshake?
    if (c.midstream && !ch && !sh) {
      // the capture started after the handshake (no hello seen) and what is left is no exchange: a close, a
      // stray record; nobody can be said to have refused anything. A reset there ends an exchange the capture
      // does not hold (a server resets after its own FIN when the client's close_notify comes): no failure
      return set('capture-incomplete', `the capture starts inside the connection to ${srv}, after its TLS handshake, and shows no request and answer${r.rstFrame || o.rstFrame ? ', only its end (a reset)' : ''}`);
    }
    const serverFlight = st.recordCount > 0;
    if (!serverFlight) {
      if (r.rstFrame) {
        if (loud) ev(r.rstFrame, `the server resets the connection before any TLS answer`);
        return set('reset', `${srv} resets the connection after the ClientHello, before any TLS answer`);
      }
      const closedBy = r.finFrame ? 'server' : o.finFrame || o.rstFrame ? 'client' : '';
      if (loud && closedBy) ev(r.finFrame || o.finFrame || o.rstFrame, `${closedBy} closes with no TLS answer from the server`);
      if (!closedBy && c.end - (c.events.find((e) => e.dir === 'c')?.time ?? c.start) < 1) return set('capture-incomplete', `the capture ends before ${srv} answers the ClientHello`);
      return set('handshake-incomplete', `${srv} accepts the TCP connection but never answers the ClientHello`);
    }
    const clientLeft = o.finFrame || o.rstFrame;
    const shortEnc = ct.records.find((x) => x.encrypted && x.type !== CT_CCS && (x.length <= TLS13_ALERT_MAX + 8 || (x.type === CT_APPDATA && x.length < minFinished(s))) && x.frame >= (st.records[0]?.frame ?? 0));
    if (clientLeft) {
      if (tls13 && shortEnc) {
        if (loud) ev(shortEnc.frame, `client sends a short encrypted record (${shortEnc.length} bytes, an alert) right after the server's flight, no Finished`);
        ev(clientLeft, 'and closes the connection');
        return set('untrusted-certificate', `the client rejects the server ${srv} after its certificate flight (inferred: an encrypted alert, then close, no Finished and no application data)`, true);
      }
      // TLS 1.3: the server's protected flight (its certificate) came and the client left without a
      // record of its own after it, not even an alert (node checks the certificate when its side of the
      // handshake is done and destroys the socket before its Finished goes out)
      const serverEnc = tls13 ? st.records.find(isProtected) : undefined;
      // (a client refuses only what it received: its ACKs, its FIN's too, cover the server's flight)
      const tookFlight = o.ackedOff >= streamEndBefore(st, clientLeft);
      if (serverEnc && tookFlight && clientLeft > serverEnc.frame && !ct.records.some((x) => x.frame >= serverEnc.frame && x.type !== CT_CCS)) {
        if (loud) ev(serverEnc.frame, "the server's encrypted flight (its certificate)");
        ev(clientLeft, 'the client closes without a record of its own: no Finished, no alert');
        return set('untrusted-certificate', `the client leaves after ${srv}'s certificate flight without its Finished (inferred: it does not trust the certificate)`, true);
      }
      if (!tls13 && tookFlight && (st.certificates.length > 0 || st.handshakeTypes.some((h) => h.type === HS.certificate || h.type === HS.server_hello_done) || (sh && !ct.ccsFrame))) {
        if (loud && st.certificates.length) ev(st.certificateFrame, `server certificate: ${st.certificates[0]!.subject}, issued by ${st.certificates[0]!.issuer}`);
        ev(clientLeft, 'the client closes without ChangeCipherSpec/Finished');
        return set('untrusted-certificate', `the client closes after the server's certificate flight without completing the handshake (inferred: it does not trust ${srv}'s certificate)`, true);
      }
      // the version unknown (the snaplen cut the ServerHello before its supported_versions): the client took the
      // server's whole flight (acknowledged it) and left without a record of its own, where TLS 1.2 owes its key
      // exchange and TLS 1.3 its Finished: what it refused is in that flight, the certificate
      const first = st.records[0];
      if (!sh && !tls13 && tookFlight && first?.type === CT_HANDSHAKE && clientLeft > first.frame && r.stream.stats.lostBytes === 0 && !ct.records.some((x) => x.frame >= first.frame)) {
        ev(clientLeft, "the client closes after the server's whole flight without a record of its own: no key exchange or Finished, no alert");
        return set('untrusted-certificate', `the client leaves after ${srv}'s certificate flight without answering it (inferred: it does not trust the certificate; the TLS version was cut by the snaplen)`, true);
      }
    }
    // bytes of the handshake the capture missed (the peer acknowledged them, or they never came before the
    // end): what they said, an alert or the rest of a flight, cannot be read, so nobody can be said to refuse
    const missed = (who: string, n: number) => set('capture-incomplete', `the TLS handshake with ${srv} stops, and ${n} bytes ${who} sent during it are missing from the capture: what they said (an alert, the rest of a flight) cannot be read`);
    if (r.stream.stats.lostBytes > 0) return missed(srv, r.stream.stats.lostBytes);
    if (r.rstFrame) {
      ev(r.rstFrame, 'the server resets the connection during the handshake');
      return set('reset', `${srv} resets the connection during the TLS handshake`);
    }
    if (o.stream.stats.lostBytes > 0) return missed('the client', o.stream.stats.lostBytes);
    if (!c.closed && !o.finFrame && !r.finFrame) return set('capture-incomplete', `the TLS handshake with ${srv} is still under way when the capture ends`);
    return set('handshake-incomplete', `the TLS handshake with ${srv} stops with no alert and no sign of who refused`);
  }

  // ---- application: HTTP in clear inside the tunnel is not possible; encrypted exchanges
  addHttp(f, s);
  // (a capture that starts after the handshake holds no client Finished to leave out of the first request)
  f.exchanges = exchanges(s, complete.frame, tls13 && !after, c);
  const dec = fromDecrypted(s, set, ev);
  if (dec) return dec;
  const refused = tls13RefusedAtFinished(c, s, f, complete.frame, tls13);
  if (refused) {
    if (loud) ev(refused.frame, `the server answers the client's Finished with ${refused.records} short encrypted record${refused.records > 1 ? 's' : ''} (${TLS13_ALERT_MAX} bytes: an alert) and no session ticket, then closes${refused.missed ? ' (the capture missed the record: the client acknowledged its bytes here)' : ''}`);
    return set('handshake-failure', `${srv} ends the TLS 1.3 handshake with an encrypted alert right after the client's Finished, before answering anything (inferred: it refused the client, e.g. a client certificate it requires or rejects)`, true);
  }
  return decideExchanges(c, f, set, ev, srv, (frame) => closerAfter(c, s, frame, tls13));
}

type Setter = (reason: Reason, summary: string, inferred?: boolean) => ConnFinding;
type Evid = (frame: number, text: string) => void;
type Closer = { frame: number; text: string; who: string } | null;

/** the application layer from the exchanges after a completed handshake */
function decideExchanges(c: Connection, f: ConnFinding, set: Setter, ev: Evid, srv: string, closer: (frame: number) => Closer): ConnFinding {
  const loud = ev !== noEvidence;
  const o = c.orig;
  const r = c.resp;
  const lastResp = f.exchanges.at(-1);
  const unanswered = f.exchanges.find((x) => x.responseFrame === 0);
  if (unanswered) {
    if (loud) ev(unanswered.requestFrame, `the client sends its request (${unanswered.requestBytes} bytes of application data)`);
    if (r.rstFrame) {
      ev(r.rstFrame, 'the server side resets the connection before any answer');
      return set('reset', `the connection to ${srv} is reset after the request, before any response byte`);
    }
    if (o.rstFrame) {
      ev(o.rstFrame, 'the client resets the connection before any answer');
      return set('reset', `the client resets the connection to ${srv} while waiting for the answer`);
    }
    if (!c.closed && !r.finFrame) return set('capture-incomplete', `the request to ${srv} is still unanswered when the capture ends`);
    ev(r.finFrame || o.finFrame, 'the connection closes without an answer');
    return set('reset', `the connection to ${srv} closes after the request without any answer`);
  }
  if (f.exchanges.length === 0) {
    // seen from the middle: the request, if any, came before the capture; a server that resets after its own
    // FIN answers bytes that came after it closed
    if (c.midstream) return set('capture-incomplete', `the capture starts inside the connection to ${srv}, after its TLS handshake, and shows no request and answer${r.rstFrame || o.rstFrame ? ', only its end (a reset)' : ''}`);
    if (r.rstFrame && !o.finFrame) {
      ev(r.rstFrame, 'the server resets the connection after the handshake');
      return set('reset', `${srv} resets the connection right after the TLS handshake`);
    }
    const left = clientLeftAfterHandshake(c);
    if (left) {
      ev(left.frame, `the client closes ${left.after.toFixed(3)} s after the server's last handshake bytes, without a request`);
      return set('untrusted-certificate', `the client completes the TLS handshake with ${srv} and leaves at once without a request (inferred: it refused the server after the handshake, a certificate or host name check that clients such as node and Java's HttpsURLConnection make then)`, true);
    }
    return set('capture-incomplete', `the TLS handshake with ${srv} completes but no request follows in the capture`);
  }
  for (let i = 0; loud && i < Math.min(4, f.exchanges.length); i++) {
    const x = f.exchanges[i]!;
    ev(x.requestFrame, `request: ${x.requestBytes} bytes of application data`);
    ev(x.responseFrame, `answer: ${x.responseBytes} bytes`);
  }
  const again = sameCallRepeated(f.exchanges);
  if (again) {
    // one call sent again and again on a kept-alive connection, each time the same short answer
    f.singleExchange = true;
    const cl = closer(lastResp!.responseFrame);
    if (cl) ev(cl.frame, cl.text);
    return set('auth-rejected', `the same ${again.request}-byte request ${f.exchanges.length} times on one connection, each answered with the same short ${again.answer} bytes: one call refused and retried, no other call follows`, true);
  }
  if (f.exchanges.length >= 2) {
    // "TLS 1.3 completes", not "TLS TLS 1.3"
    const v = f.tlsVersion ?? '';
    return set('ok', `${v.startsWith('TLS') ? v : `TLS ${v}`} completes and ${f.exchanges.length} requests are answered on the same connection`, f.inferred);
  }
  // one request, one answer; seen from the middle of the connection, what came before it is not in the capture
  if (c.midstream && c.resp.syn === 0) return set('capture-incomplete', `the capture starts inside the connection to ${srv}: one request and its answer are seen, not what came before them`);
  f.singleExchange = true;
  const cl = closer(lastResp!.responseFrame);
  if (cl) ev(cl.frame, cl.text);
  return set('auth-rejected', `one request, one short answer (${lastResp!.responseBytes} bytes), then ${cl ? cl.who : 'the end of the capture'}; no API call follows`, true);
}

/**
 * The handshake done and no request: the client closes first (FIN or RST, no close from the server before
 * it) within 2 s of the server's last bytes. A client that wanted the connection would have sent its request
 * by then; one that checks the server's certificate or host name after the handshake leaves this way.
 */
function clientLeftAfterHandshake(c: Connection): { frame: number; after: number } | null {
  const o = c.orig;
  const r = c.resp;
  const cf = o.finFrame && o.rstFrame ? Math.min(o.finFrame, o.rstFrame) : o.finFrame || o.rstFrame;
  if (!cf || (r.finFrame && r.finFrame < cf) || (r.rstFrame && r.rstFrame < cf)) return null;
  const close = c.events.find((e) => e.dir === 'c' && e.frame === cf);
  const segs = c.segments;
  let last = -1;
  for (let i = 0; i < segs.length; i++) if (segs.dir(i) === 's' && segs.frame(i) < cf) last = segs.time(i);
  if (!close || last < 0 || close.time - last > 2) return null;
  return { frame: cf, after: Math.max(0, close.time - last) };
}

/**
 * The smallest first flight of a TLS server that sends a certificate: a ServerHello (about 90 bytes or
 * more) and a certificate of a few hundred bytes at least (an ECDSA P-256 one about 400, RSA-2048 800+)
 */
const CERT_FLIGHT_MIN = 400;

/**
 * Every request of the connection the same size to the byte, every answer after the first (which may carry
 * TLS 1.3 session tickets) the same size, and short: under 1000 bytes and under twice the request (an error
 * document, not data). Healthy calls differ (the token call, then API calls), and data answers are long.
 */
function sameCallRepeated(xs: readonly Exchange[]): { request: number; answer: number } | null {
  if (xs.length < 2) return null;
  // exchanges holding bytes the capture missed have no sure sizes: the others decide (two at least), each
  // of them must still have been answered
  const sure = xs.filter((x) => !x.requestLost && !x.responseLost);
  if (sure.length < 2 || xs.some((x) => x.responseBytes <= 0)) return null;
  const req = sure[0]!.requestBytes;
  // (the first exchange's answer may carry TLS 1.3 session tickets)
  const ans = (sure[0] === xs[0] ? sure[1]! : sure[0]!).responseBytes;
  if (ans <= 0 || ans >= 1000 || ans >= 2 * req) return null;
  for (const x of sure) {
    if (x.requestBytes !== req || (x !== xs[0] && x.responseBytes !== ans)) return null;
  }
  return { request: req, answer: ans };
}

/** a TLS alert record in clear: 5-byte header and 2 bytes */
const ALERT_RECORD = 7;
/** a TLS 1.3 alert on the wire: record header, then 2 bytes, the inner type and the 16-byte AEAD tag */
const TLS13_ALERT_RECORD = 5 + TLS13_ALERT_MAX;
/**
 * An encrypted close_notify: TLS 1.3 5 + 19, TLS 1.2 AES-GCM 5 + 26, TLS 1.2 CBC with SHA-1 5 + 16 IV +
 * 2 + 20 MAC + padding = 48, with SHA-384 64. No HTTP request or answer is that short.
 */
const CLOSE_NOTIFY_MAX = 64;

/**
 * No payload in the capture (tcpdump text, a snaplen that keeps only headers): the TLS exchange is read
 * from who sent how many bytes, in which order, and who closed. Protocol facts used: a plaintext alert
 * record is 7 bytes; a TLS 1.2 client's second flight (key exchange, ChangeCipherSpec, Finished) and the
 * server's answer (ChangeCipherSpec, Finished, maybe a ticket) are small, and only then does data flow;
 * in TLS 1.3 the client's second flight already carries its Finished and the first request.
 */
function judgeBlind(c: Connection, f: ConnFinding, set: Setter, ev: Evid, srv: string): ConnFinding {
  const loud = ev !== noEvidence;
  const o = c.orig;
  const r = c.resp;
  f.payloadCut = true;
  f.inferred = true;
  const turns: { dir: 'c' | 's'; bytes: number; frame: number; last: number; firstLen: number; second: number }[] = [];
  // a short last segment that closes (FIN with it, or the peer already closed, or nothing follows) is
  // an encrypted close_notify, not data
  const segs = c.segments.toArray();
  const finOf = (d: 'c' | 's') => (d === 'c' ? o.finFrame || o.rstFrame : r.finFrame || r.rstFrame);
  const closes: { dir: 'c' | 's'; frame: number; len: number }[] = [];
  const data = segs.filter((g, i) => {
    const peer = finOf(g.dir === 'c' ? 's' : 'c');
    const last = !segs.slice(i + 1).some((x) => x.dir === g.dir);
    // (never a side's first flight: a close_notify follows a handshake, a 7-byte alert may not)
    const earlier = segs.slice(0, i).some((x) => x.dir === g.dir);
    // (not the tail of a request: a short segment right behind its side's data that the peer then answers with data)
    const tail = () => i > 0 && segs[i - 1]!.dir === g.dir && segs.slice(i + 1).some((x) => x.dir !== g.dir && x.len > CLOSE_NOTIFY_MAX);
    const isClose = g.len <= CLOSE_NOTIFY_MAX && last && earlier && (g.fin || (peer > 0 && peer < g.frame) || finOf(g.dir) > 0 || i === segs.length - 1) && !tail();
    if (isClose) closes.push({ dir: g.dir, frame: g.frame, len: g.len });
    return !isClose;
  });
  for (const g of data) {
    const t = turns.at(-1);
    if (t && t.dir === g.dir) {
      t.bytes += g.len;
      t.last = g.frame;
      if (t.second === 0) t.second = g.frame;
    } else turns.push({ dir: g.dir, bytes: g.len, frame: g.frame, last: g.frame, firstLen: g.len, second: 0 });
  }
  const [hello, s1, c2, s3] = turns;
  if (loud) ev(hello!.frame, `no payload in the capture: judged from segment sizes and order; the client's first flight is ${hello!.bytes} bytes`);
  if (hello!.dir !== 'c') return set('capture-incomplete', `the server ${srv} speaks first and the payload is not in the capture: nothing to judge by`);
  if (!s1) {
    if (r.rstFrame) {
      ev(r.rstFrame, 'the server resets the connection before answering');
      return set('reset', `${srv} resets the connection after the client's first flight, before any answer`);
    }
    if (r.finFrame || o.finFrame || o.rstFrame) {
      ev(r.finFrame || o.finFrame || o.rstFrame, 'the connection closes with no answer from the server');
      return set('handshake-incomplete', `${srv} accepts the TCP connection but never answers the client's first flight`);
    }
    return set('capture-incomplete', `the capture ends before ${srv} answers the client's first flight`);
  }
  if (loud) ev(s1.frame, `the server answers with ${s1.bytes} bytes`);
  if (s1.bytes === ALERT_RECORD && !c2) return set('handshake-failure', `${srv} answers the ClientHello with one 7-byte record, a TLS alert, and the handshake ends (inferred: the payload is not in the capture)`, true);
  if (!c2) {
    const serverFirst = r.finFrame > 0 && (!o.finFrame || r.finFrame < o.finFrame) && (!o.rstFrame || r.finFrame < o.rstFrame);
    if (serverFirst) {
      // a TLS server waits for the client after its first flight; one that answers and closes at once
      // does not speak TLS (an HTTP server's 400, say)
      ev(r.finFrame, 'the server closes right after its first answer, without waiting for the client');
      return set('not-tls', `${srv} answers once and closes at once, which no TLS server does in a handshake (inferred: it does not speak TLS, or the client did not)`, true);
    }
    if ((o.finFrame || o.rstFrame) && s1.bytes < CERT_FLIGHT_MIN) {
      // too short for a ServerHello and a certificate: the answer is not a TLS server's first flight
      ev(o.finFrame || o.rstFrame, `the client closes after the server's ${s1.bytes}-byte answer`);
      return set('not-tls', `${srv} answers with ${s1.bytes} bytes, too few for a TLS server's certificate flight, and the client leaves (inferred: the service does not speak TLS, e.g. plain HTTP)`, true);
    }
    if (o.finFrame || o.rstFrame) {
      ev(o.finFrame || o.rstFrame, "the client closes after the server's first flight without continuing the handshake");
      return set('untrusted-certificate', `the client leaves after ${srv}'s certificate flight without finishing the handshake (inferred: it does not trust the certificate)`, true);
    }
    if (r.rstFrame) {
      ev(r.rstFrame, 'the server resets the connection');
      return set('reset', `${srv} resets the connection during the TLS handshake`);
    }
    return set('capture-incomplete', `the capture ends during the TLS handshake with ${srv}`);
  }
  if (c2.bytes === ALERT_RECORD) {
    ev(c2.frame, "the client answers the server's flight with one 7-byte record, a TLS alert");
    return set('untrusted-certificate', `the client answers ${srv}'s certificate flight with an alert and leaves (inferred: it does not trust the certificate)`, true);
  }
  // the server's only answer to the client's second flight is one alert-sized record, then it closes: a
  // server that accepts sends CCS and Finished (TLS 1.2) or its session tickets (TLS 1.3) first
  const alertClose = s3 ? undefined : closes.find((x) => x.dir === 's' && x.frame > c2.frame && (x.len === ALERT_RECORD || x.len === TLS13_ALERT_RECORD));
  // (a TLS 1.3 client whose second flight starts with a segment of just CCS and Finished, the request in
  // the next, sent no certificate: the server's 24-byte record is then its close_notify, not a refusal)
  const finOnly = c2.second > 0 && FINISHED_SEGMENTS.has(c2.firstLen);
  if (alertClose && (r.finFrame || r.rstFrame) && !(alertClose.len === TLS13_ALERT_RECORD && finOnly)) {
    if (loud) ev(alertClose.frame, `the server answers the client's second flight with one ${alertClose.len}-byte record, a TLS alert (${alertClose.len === ALERT_RECORD ? 'plaintext, TLS 1.2' : 'encrypted, TLS 1.3'}), and closes`);
    return set('handshake-failure', `${srv} ends the handshake with an alert after the client's second flight (inferred: the payload is not in the capture; typically a client certificate it requires or rejects)`, true);
  }
  const c4 = turns[4];
  // TLS 1.2's second client flight: key exchange (ECDHE about 40-140 bytes, RSA-2048 267), CCS 6 and
  // Finished 45 to 69; the server answers with CCS, Finished and perhaps a ticket, and the client speaks
  // again. TLS 1.3's second flight is the Finished with the request, and the server's answer is the reply.
  const tls12 = c2.bytes <= 350 && !!s3 && s3.bytes <= 400 && !!c4;
  f.tlsVersion = tls12 ? 'TLS 1.2 (inferred)' : 'TLS 1.3 (inferred)';
  f.handshakeComplete = true;
  // TLS 1.3 whose second client flight is only the Finished: the server's next turn is its tickets
  const from = tls12 || c2.bytes <= 100 ? 4 : 2;
  if (from === 2 && c2.firstLen <= 100 && c2.second > 0) {
    // the Finished (with its ChangeCipherSpec: 58 to 80 bytes) in a segment of its own, the request right
    // behind it before the server's tickets came: the request is what follows the Finished
    c2.bytes -= c2.firstLen;
    c2.frame = c2.second;
  }
  for (let i = from; i < turns.length; i++) {
    const t = turns[i]!;
    if (t.dir !== 'c') continue;
    const resp = turns[i + 1];
    f.exchanges.push({ requestFrame: t.frame, requestBytes: t.bytes, responseFrame: resp?.frame ?? 0, responseBytes: resp?.bytes ?? 0, requestLost: false, responseLost: false });
  }
  const closer = (frame: number): Closer => {
    const cl = closes.find((x) => x.frame > frame && x.dir === 's');
    if (cl) return { frame: cl.frame, text: 'the server sends a short last record (an encrypted close_notify) and closes right after the answer', who: 'the server closes' };
    if (r.finFrame > frame) return { frame: r.finFrame, text: 'the server closes the connection (FIN) after the answer', who: 'the server closes' };
    if (r.rstFrame > frame) return { frame: r.rstFrame, text: 'the server resets the connection after the answer', who: 'the server resets' };
    if (o.finFrame > frame || o.rstFrame > frame) return { frame: o.finFrame || o.rstFrame, text: 'the client closes the connection after the answer', who: 'the client closes' };
    return null;
  };
  return decideExchanges(c, f, set, ev, srv, closer);
}

function printable(b: Uint8Array): string {
  const s = Array.from(b.subarray(0, 40), (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
  return `"${s}" (first byte 0x${(b[0] ?? 0).toString(16).padStart(2, '0')})`;
}

function stripQuery(t: string | undefined): string {
  return (t ?? '').replace(/\?.*/, '?...');
}

function firstFatal(t: TlsStream): AlertInfo | undefined {
  // a plaintext alert whose level the snaplen cut is taken as fatal: in a handshake, warnings are rare
  // (loops: judged for every connection, most of which have no alert at all)
  for (const a of t.alerts) if (!a.encrypted && (a.level === 2 || a.level === -1)) return a;
  for (const a of t.alerts) if (!a.encrypted && a.description !== 0 && a.description !== 90) return a;
  return undefined;
}

/** a protected record of TLS 1.3 (application data), or bytes whose records the snaplen hid */
const isProtected = (r: { type: number }) => r.type === CT_APPDATA || r.type === CT_OPAQUE;

/** the handshake completed: TLS 1.2 both ChangeCipherSpecs (Finished follows), TLS 1.3 the client's Finished */
/** (`tls13`: s.tls13, read once per connection: the getter infers it from the records when no ServerHello says) */
function handshakeComplete(s: Session, tls13: boolean, after: boolean): Readonly<{ done: boolean; frame: number; text: string }> {
  const ct = s.clientTls;
  const st = s.serverTls;
  if (after) {
    // the capture starts inside the connection, both sides already sending protected data: the handshake
    // was done before the capture began
    const cd = ct.records.find(isProtected)!;
    const sd = st.records.find(isProtected)!;
    return { done: true, frame: Math.min(cd.frame, sd.frame), text: 'the capture starts after the TLS handshake: protected data both ways' };
  }
  if (tls13) {
    const clientFrom = clientProtectedFrom(s);
    if (clientFrom < 0) return NOT_COMPLETE;
    for (const r of ct.records) {
      // (a record shorter than the suite's Finished is not one: an alert, padded by some clients, e.g. Java)
      if (isProtected(r) && sentFrom(r, clientFrom) && r.length > TLS13_ALERT_MAX && (r.type === CT_OPAQUE || r.length >= minFinished(s))) return { done: true, frame: r.frame, text: 'client Finished (encrypted): TLS 1.3 handshake complete' };
    }
    return NOT_COMPLETE;
  }
  if (ct.ccsFrame && st.ccsFrame) return { done: true, frame: Math.max(ct.ccsFrame, st.ccsFrame), text: 'ChangeCipherSpec and Finished both ways: TLS handshake complete' };
  // a small snaplen may hide the CCS of a record run; application data both ways also proves it
  const fr = firstAppData(ct);
  if (fr !== undefined && firstAppData(st) !== undefined) return { done: true, frame: fr.frame, text: 'application data both ways: TLS handshake complete' };
  // ... or the client's application data after the server's ChangeCipherSpec: the client sends data once it has
  // the server's Finished (its own CCS may be missing: bytes the capture missed)
  if (fr !== undefined && st.ccsFrame && fr.frame > st.ccsFrame) return { done: true, frame: fr.frame, text: "client application data after the server's ChangeCipherSpec: TLS handshake complete" };
  // ... or the server's application data after the client's ChangeCipherSpec: a TLS 1.2 server sends data only
  // once it has sent its Finished (the client's data may be missing: bytes the capture missed)
  const sd = firstAppData(st);
  if (sd !== undefined && ct.ccsFrame && sd.frame > ct.ccsFrame) return { done: true, frame: sd.frame, text: "server application data after the client's ChangeCipherSpec: TLS handshake complete" };
  // ... or the server's CCS behind a session ticket: the client sends data after its own CCS and the server's answer to it
  if (fr !== undefined && ct.ccsFrame && st.records.some((x) => x.frame > ct.ccsFrame && (x.frame < fr.frame || (x.frame === fr.frame && x.type === CT_OPAQUE)))) return { done: true, frame: fr.frame, text: "client data after its ChangeCipherSpec and the server's flight (its ChangeCipherSpec cut by the snaplen): TLS handshake complete" };
  // ... or the server's NewSessionTicket in answer to the client's second flight, with bytes behind it the snaplen
  // cut (the server's ChangeCipherSpec and Finished, 6 + 45 bytes with AES-GCM): a TLS 1.2 server sends a ticket
  // in its last flight only once it has the client's Finished (RFC 5077 3.3; a resumed session's ticket comes in
  // the server's first flight, before the client says anything more)
  const serverFirst = st.records[0];
  if (serverFirst !== undefined && !st.ccsFrame) {
    const i = st.records.findIndex((x) => x.type === CT_HANDSHAKE && x.handshakes.includes(HS.new_session_ticket) && ct.records.some((y) => y.frame > serverFirst.frame && y.frame < x.frame));
    const rest = i >= 0 ? st.records[i + 1] : undefined;
    if (rest !== undefined && rest.type === CT_OPAQUE && !rest.lost && rest.off === st.records[i]!.off + 5 + st.records[i]!.length && rest.length >= 6 + 5 + 16) {
      return { done: true, frame: st.records[i]!.frame, text: "the server's session ticket in answer to the client's Finished, its ChangeCipherSpec and Finished behind it (cut by the snaplen): TLS handshake complete" };
    }
  }
  return NOT_COMPLETE;
}

/**
 * The frame from which a TLS 1.3 client's records are protected (-1: none seen): the server's first protected
 * record, the encrypted flight the client answers; or the client's ChangeCipherSpec when the capture starts
 * after the server's flight (no ServerHello in it, not even the start of one), where its Finished follows
 */
function clientProtectedFrom(s: Session): number {
  const firstServerEnc = s.serverTls.records.find(isProtected);
  const ccs = s.clientTls.ccsFrame;
  const serverHello = !!s.serverTls.serverHello || s.serverTls.handshakeTypes.some((h) => h.type === HS.server_hello);
  if (ccs > 0 && !serverHello && (!firstServerEnc || ccs < firstServerEnc.frame)) return ccs;
  return firstServerEnc ? firstServerEnc.frame : -1;
}

/** the stream offset where the last record of `t` that began before `frame` ends (0: none) */
function streamEndBefore(t: TlsStream, frame: number): number {
  let end = 0;
  for (const r of t.records) {
    if (r.frame >= frame) break;
    end = r.off + (r.type === CT_OPAQUE ? r.length : 5 + r.length);
  }
  return end;
}

/**
 * The client record was sent at or after `frame`: a hole the capture missed placed at that very frame (the
 * server's ACK of it rode on its flight) was sent before it (a missed ClientHello, not a Finished)
 */
function sentFrom(r: TlsRecordInfo, frame: number): boolean {
  return r.frame > frame || (r.frame === frame && !r.lost);
}

const NOT_COMPLETE = Object.freeze({ done: false, frame: 0, text: '' });

/**
 * Seen mid-stream with no hello of either side (not even the start of one the snaplen cut) and no
 * ChangeCipherSpec (a capture that starts at the server's flight, or at the client's answer to it, holds the
 * end of the handshake), and protected data (or records the snaplen hid) both ways
 */
function afterHandshake(s: Session): boolean {
  const handshake = (t: TlsStream) => t.ccsFrame > 0 || t.handshakeTypes.some((h) => h.type === HS.client_hello || h.type === HS.server_hello);
  return s.conn.midstream && !s.clientTls.clientHello && !s.serverTls.serverHello && !handshake(s.clientTls) && !handshake(s.serverTls) && s.clientTls.records.some(isProtected) && s.serverTls.records.some(isProtected);
}

function firstAppData(t: TlsStream): TlsRecordInfo | undefined {
  for (const r of t.records) if (r.type === CT_APPDATA) return r;
  return undefined;
}

/** the stream shows TLS records by type (not only bytes whose records the snaplen hid), or is recognised as not TLS */
function typed(t: TlsStream): boolean {
  for (const x of t.records) if (x.type !== CT_OPAQUE) return true;
  return t.state === 'not-tls' || t.sslv2Hello;
}

/**
 * Requests and answers of an encrypted connection: client application-data records after its Finished
 * (TLS 1.3: after the first, which is the Finished) grouped until the server answers; server records
 * grouped until the next request. Short records (alerts) are not requests.
 */
function exchanges(s: Session, from: number, tls13: boolean, c: Connection): Exchange[] {
  // records at or under `min` bytes are no request or answer: TLS 1.3 alerts, and HTTP/2's control frames when
  // the client offered h2 (or its hello is not whole: HTTP is what this tool reads)
  const ch = s.clientTls.clientHello;
  const h2 = !ch || ch.alpn.includes('h2') || !!s.clientTls.records[0]?.cut;
  const min = h2 ? (tls13 ? CONTROL_MAX_13 : CONTROL_MAX_12) : tls13 ? TLS13_ALERT_MAX : 0;
  const cr = s.clientTls.records;
  const sr = s.serverTls.records;
  // data records are walked in place (no filtered copies): isData below, and for the client not its Finished
  let fin: TlsRecordInfo | undefined;
  let finOnly = false;
  if (tls13) {
    // the client's first protected record is its Finished
    const clientFrom = clientProtectedFrom(s);
    if (clientFrom >= 0) {
      for (const r of cr) {
        if (isData(r, from, min) && sentFrom(r, clientFrom)) {
          fin = r;
          break;
        }
      }
    }
    // opaque bytes larger than any Finished record (5 + 4 + 48 + 1 + 16 = 74) hold the Finished and the
    // first request together: they stay, as the request
    finOnly = !!fin && !(fin.type === CT_OPAQUE && fin.length > 80);
  }
  // (the client's Finished is skipped: `fin` when finOnly, with anything before it in the stream)
  const skip = finOnly ? fin! : null;
  const after = fin ?? null;
  const out: Exchange[] = [];
  // a short hole of whole records that the peer answers with no data is no request or answer (see
  // shortHole); the last of a stream ends where the stream does: at the sender's FIN or RST, when every
  // record of the stream is listed
  const cEnd = c.orig.finFrame || c.orig.rstFrame ? lastListed(s.clientTls) : null;
  const sEnd = c.resp.finFrame || c.resp.rstFrame ? lastListed(s.serverTls) : null;
  const sLast = lastData(sr, from, min);
  const cLast = lastData(cr, from, min);
  const cHoles: Holes = { end: cEnd, peerLast: sLast };
  const sHoles: Holes = { end: sEnd, peerLast: cLast };
  let si = nextData(sr, 0, from, min, null, null, sHoles);
  let ci = nextData(cr, 0, from, min, skip, after, cHoles);
  while (ci < cr.length) {
    const first = cr[ci]!;
    let bytes = 0;
    // the request: client records until a server record arrives after them
    while (si < sr.length && precedes(sr[si]!, first)) si = nextData(sr, si + 1, from, min, null, null, sHoles);
    const nextServer = si < sr.length ? sr[si]! : null;
    // (at least `first`: every turn of the outer loop takes a record)
    let requestLost = false;
    do {
      bytes += cr[ci]!.length;
      requestLost ||= cr[ci]!.lost;
      ci = nextData(cr, ci + 1, from, min, skip, after, cHoles);
    } while (ci < cr.length && (nextServer === null || precedes(cr[ci]!, nextServer)));
    const x: Exchange = { requestFrame: first.frame, requestBytes: bytes, responseFrame: 0, responseBytes: 0, requestLost, responseLost: false };
    const nextClient = ci < cr.length ? cr[ci]! : null;
    while (si < sr.length && (nextClient === null || precedes(sr[si]!, nextClient))) {
      if (!x.responseFrame) x.responseFrame = sr[si]!.frame;
      x.responseBytes += sr[si]!.length;
      x.responseLost ||= sr[si]!.lost;
      si = nextData(sr, si + 1, from, min, null, null, sHoles);
    }
    out.push(x);
  }
  return out;
}

/** what tells a stream's short holes of whole records that are no data: its last record (when its sender closed right after it) and the peer's last data record */
interface Holes {
  end: TlsRecordInfo | null;
  peerLast: TlsRecordInfo | null;
}

/**
 * The index of the next data record of `recs` from `i` on (recs.length: none), leaving out `skip`, records
 * before `after` in the stream and short holes of whole records the peer answers with no data
 */
function nextData(recs: readonly TlsRecordInfo[], i: number, from: number, min: number, skip: TlsRecordInfo | null, after: TlsRecordInfo | null, holes: Holes): number {
  for (; i < recs.length; i++) {
    const r = recs[i]!;
    if (isData(r, from, min) && r !== skip && (after === null || r.off >= after.off) && !(r.lost && shortHole(r, r === holes.end) && !(holes.peerLast !== null && precedes(r, holes.peerLast)))) return i;
  }
  return i;
}

/** the last data record of `recs` (null: none) */
function lastData(recs: readonly TlsRecordInfo[], from: number, min: number): TlsRecordInfo | null {
  for (let i = recs.length - 1; i >= 0; i--) if (isData(recs[i]!, from, min)) return recs[i]!;
  return null;
}

/** the last record of a stream when every record of it is listed (null: none, or some were not kept) */
function lastListed(t: TlsStream): TlsRecordInfo | null {
  return t.recordCount === t.records.length ? (t.records.at(-1) ?? null) : null;
}

/**
 * Bytes the capture missed that are whole records and too few for an HTTP request or answer (a close_notify
 * before a FIN, an HTTP/2 control frame; in TLS 1.2 the ChangeCipherSpec and Finished, 6 + 45 bytes with
 * AES-GCM), as long as the peer sends no data after them (a request's body in a record of its own, as Java
 * writes it, is as short, and is answered). Whole records: the hole began where a record ended and a record
 * header follows right after it, or it is the last of its stream (`last`: the sender closed after it).
 */
function shortHole(r: TlsRecordInfo, last: boolean): boolean {
  return r.startsAtRecord === true && (r.endsAtRecord === true || last) && r.length <= 5 + CLOSE_NOTIFY_MAX;
}

/**
 * Record `a` (one direction) was sent before record `b` (the other): an earlier frame, or the same frame when
 * `a` is bytes the capture missed. A frame carries one direction's bytes, so two records of opposite
 * directions share one only when a hole is placed at the frame of the ACK that proved it (see
 * StreamReassembler.ackTo): the missed bytes were sent before that ACK and what it carries. A record captured
 * after the peer's ACK of it (TlsRecordInfo.sentBefore) was sent before that ACK's frame.
 */
function precedes(a: TlsRecordInfo, b: TlsRecordInfo): boolean {
  const at = sentAt(a);
  const bt = sentAt(b);
  return at < bt || (at === bt && a.type === CT_OPAQUE && b.type !== CT_OPAQUE);
}

/** where a record was sent, in frames: its frame, or just before the peer's ACK of it when captured after that */
function sentAt(r: TlsRecordInfo): number {
  return r.sentBefore !== undefined ? r.sentBefore - 0.5 : r.frame;
}

/** a record of the exchanges: protected data from `from` on (opaque bytes, record boundaries lost to the snaplen, are data too), longer than `min` */
function isData(r: TlsRecordInfo, from: number, min: number): boolean {
  return r.frame >= from && (r.type === CT_OPAQUE || (r.type === CT_APPDATA && r.length > min));
}

/**
 * Protected records this short carry at most 17 bytes of plaintext: HTTP/2's control frames (SETTINGS and its
 * ACK 9 bytes, WINDOW_UPDATE and RST_STREAM 13, PING 17) or a TLS 1.3 alert, never an HTTP request or answer
 * (the shortest request line and Host header are longer). TLS 1.3 adds the inner type and a 16-byte tag (34);
 * TLS 1.2 AES-GCM an 8-byte nonce and the tag (41).
 */
const CONTROL_MAX_13 = 17 + 17;
const CONTROL_MAX_12 = 17 + 24;

/**
 * TLS 1.3: a server that accepts the client's Finished sends its session tickets (or the answer); one
 * that refuses it (a client certificate missing or rejected, a Finished that does not verify) sends an
 * encrypted alert, a record of exactly 19 bytes, and closes. Only alert-sized records from the server
 * after the client's Finished, a request left unanswered and a close: the handshake failed at its end.
 */
function tls13RefusedAtFinished(c: Connection, s: Session, f: ConnFinding, finishedFrame: number, tls13: boolean): { frame: number; records: number; missed: boolean } | null {
  if (!tls13 || (f.exchanges.length > 0 && !f.exchanges.some((x) => x.responseFrame === 0))) return null;
  // (from the client's first protected record after the server's flight: a server that refuses an empty
  // Certificate answers it at once, before the client's Finished, when the client sends them apart, as Java does)
  const clientFrom = clientProtectedFrom(s);
  const firstClientEnc = clientFrom >= 0 ? s.clientTls.records.find((r) => isProtected(r) && sentFrom(r, clientFrom)) : undefined;
  const from = Math.min(finishedFrame, firstClientEnc?.frame ?? finishedFrame);
  const after = s.serverTls.records.filter((r) => isProtected(r) && r.frame >= from);
  if (!(c.resp.rstFrame || c.resp.finFrame)) return null;
  // (a hole of whole records the size of one alert record is that alert, missed by the capture)
  const last = lastListed(s.serverTls);
  const alert = (r: TlsRecordInfo) => (r.type === CT_OPAQUE ? r.lost && r.length === TLS13_ALERT_RECORD && r.startsAtRecord === true && (r.endsAtRecord === true || r === last) : r.length === TLS13_ALERT_MAX);
  if (after.length === 0 || after.length > 2 || !after.every(alert)) return null;
  if (finishedOnly(s)) return null;
  return { frame: after[0]!.frame, records: after.length, missed: after.some((r) => r.type === CT_OPAQUE) };
}

/**
 * TLS 1.3: the client's first protected record is exactly a Finished (hash + 4 + 1 + tag bytes for the
 * ServerHello's suite): it sent no Certificate, so the server did not ask for one, and a lone 19-byte record
 * from the server then is its close_notify (it closes without answering), not a refusal of the client.
 */
function finishedOnly(s: Session): boolean {
  const suite = s.serverTls.serverHello?.cipherSuite ?? s.serverTls.cutHello?.cipherSuite ?? -1;
  const fin = TLS13_FINISHED_RECORD.get(suite);
  // (the suite cut by the snaplen with the ServerHello: a Finished of either hash of the usual suites, 53 or 69
  // bytes; a Certificate and a Finished in one record are longer, but for the rare CCM_8 suite)
  if (!fin && suite >= 0) return false;
  const clientFrom = clientProtectedFrom(s);
  // (or bytes the capture missed there that are whole records: a Finished alone, with or without the
  // ChangeCipherSpec before it, is exactly that long)
  const first = clientFrom >= 0 ? s.clientTls.records.find((r) => sentFrom(r, clientFrom) && (r.type === CT_APPDATA || (r.lost && r.startsAtRecord === true && r.endsAtRecord === true))) : undefined;
  const isFin = (body: number) => (first!.type === CT_APPDATA ? first!.length === body : first!.length === 5 + body || first!.length === 6 + 5 + body);
  return !!first && (fin ? isFin(fin) : isFin(TLS13_FINISHED_RECORD.get(0x1301)!) || isFin(TLS13_FINISHED_RECORD.get(0x1302)!));
}

/** the shortest TLS 1.3 Finished record: the ServerHello's suite's, else the shortest of any suite */
function minFinished(s: Session): number {
  const sh = s.serverTls.serverHello;
  return (sh && TLS13_FINISHED_RECORD.get(sh.cipherSuite)) || 32 + 13;
}

/** TLS 1.3 suites: the Finished record's length (verify_data of the hash's size, 4-byte header, inner type, AEAD tag) */
const TLS13_FINISHED_RECORD = new Map([
  [0x1301, 32 + 21],
  [0x1302, 48 + 21],
  [0x1303, 32 + 21],
  [0x1304, 32 + 21],
  [0x1305, 32 + 13],
]);
/** a segment holding just the client's TLS 1.3 Finished record, or the compatibility CCS (6 bytes) and it */
const FINISHED_SEGMENTS = new Set([...TLS13_FINISHED_RECORD.values()].flatMap((body) => [5 + body, 6 + 5 + body]));

function closerAfter(c: Connection, s: Session, frame: number, tls13: boolean): { frame: number; text: string; who: string } | null {
  const sa = s.serverTls.records.find((r) => r.frame >= frame && r.encrypted && (r.type === CT_ALERT || (tls13 && r.type === CT_APPDATA && r.length <= TLS13_ALERT_MAX)));
  const cf = c.orig.finFrame || c.orig.rstFrame;
  if (sa && !(cf >= frame && cf < sa.frame)) return { frame: sa.frame, text: 'the server closes the TLS session (encrypted alert, close_notify) right after the answer', who: 'the server closes' };
  if (c.resp.finFrame >= frame && !(cf >= frame && cf < c.resp.finFrame)) return { frame: c.resp.finFrame, text: 'the server closes the connection (FIN) after the answer', who: 'the server closes' };
  if (c.resp.rstFrame >= frame && !(cf >= frame && cf < c.resp.rstFrame)) return { frame: c.resp.rstFrame, text: 'the server resets the connection after the answer', who: 'the server resets' };
  if (c.orig.finFrame >= frame || c.orig.rstFrame >= frame) return { frame: c.orig.finFrame || c.orig.rstFrame, text: 'the client closes the connection after the answer', who: 'the client closes' };
  return null;
}

function stalledDirection(c: Connection): { frame: number; text: string; summary: string } | null {
  // each test looks at the server's side first, then the client's (the last one the other way round)
  return retransmittedUnacked(c, c.resp, c.orig, 'server') ?? retransmittedUnacked(c, c.orig, c.resp, 'client') ?? sentUnseen(c, c.resp, c.orig, 'server') ?? sentUnseen(c, c.orig, c.resp, 'client') ?? neverReceived(c, c.orig, c.resp, 'client') ?? neverReceived(c, c.resp, c.orig, 'server');
}

type Stalled = { frame: number; text: string; summary: string } | null;

function retransmittedUnacked(c: Connection, d: DirStats, peer: DirStats, who: 'server' | 'client'): Stalled {
  // (three repeats; or two, and then the receiver gives up, its FIN or RST still acknowledging none of the
  // repeated bytes)
  const gaveUp = (peer.finFrame > d.lastDataFrame || peer.rstFrame > d.lastDataFrame) && peer.ackedOff <= d.unackedRetransOff;
  if ((d.unackedRetrans >= 3 || (d.unackedRetrans >= 2 && gaveUp)) && peer.ackedOff < d.sentOff) {
    const retr = c.events.filter((e) => e.dir === (who === 'server' ? 's' : 'c') && e.what.startsWith('retransmission'));
    const last = retr.at(-1);
    return {
      frame: last?.frame ?? d.lastDataFrame,
      text: `the ${who} retransmits ${d.unackedRetrans} times data the ${who === 'server' ? 'client' : 'server'} never acknowledges (largest segment ${d.maxSegment} bytes)${peer.sackBlocks ? '; SACK shows later bytes arrived' : ''}`,
      summary: `the ${who}'s ${d.maxSegment}-byte segments are retransmitted ${d.unackedRetrans} times without ever being acknowledged while small packets pass: the path drops large segments (PMTU black hole)`,
    };
  }
  return null;
}

/**
 * Seen from the receiver: the sender's sequence numbers moved past bytes that never arrived, the
 * receiver never acknowledged them and gave up (or waited long): they were lost on the path, not by the
 * capture (a capture drop would still be acknowledged). Small packets got through, large ones did not.
 */
function sentUnseen(c: Connection, d: DirStats, peer: DirStats, who: 'server' | 'client'): Stalled {
  const other = who === 'server' ? 'client' : 'server';
  if (d.unseenBytes > 0 && peer.ackedOff < d.unseenEnd && (peer.finFrame || peer.rstFrame || c.duration > 3)) {
    return {
      frame: d.unseenFrame,
      text: `the ${who}'s sequence number has moved ${d.unseenBytes} bytes past all it was seen sending: data sent that never reached the ${other}, which never acknowledges it${peer.finFrame || peer.rstFrame ? ' and gives up' : ''}`,
      summary: `${d.unseenBytes} bytes the ${who} sent (its sequence numbers say so) never reach the ${other} while its small packets do: the path drops the ${who}'s larger segments (PMTU black hole)`,
    };
  }
  return null;
}

/** seen from the receiver: bytes of the peer never arrive (a hole), while it repeats its ACK */
function neverReceived(c: Connection, d: DirStats, peer: DirStats, who: 'server' | 'client'): Stalled {
  if (peer.stream.stats.lostBytes > 0 && d.dupAcks >= 2 && (d.finFrame || d.rstFrame || c.duration > 3)) {
    return {
      frame: d.finFrame || d.rstFrame || d.lastDataFrame,
      text: `the ${who} never receives ${peer.stream.stats.lostBytes} bytes of the ${who === 'client' ? 'server' : 'client'}'s data and repeats its ACK ${d.dupAcks} times`,
      summary: `${peer.stream.stats.lostBytes} bytes of the ${who === 'client' ? 'server' : 'client'}'s data never reach the ${who}, which keeps asking for them: the path loses large segments (PMTU black hole)`,
    };
  }
  return null;
}

function addHttp(f: ConnFinding, s: Session): void {
  // most connections (encrypted, no key log) have no HTTP message at all
  if (s.clientHttp.messages.length === 0 && s.serverHttp.messages.length === 0 && !s.clientApp?.messages.length && !s.serverApp?.messages.length) return;
  const all: HttpMessage[] = [...s.clientHttp.messages, ...s.serverHttp.messages].filter((m) => m.method !== 'CONNECT' && !(s.proxy && m.frame === s.proxy.responseFrame));
  // what the key log decrypted, marked so
  const dec = new Set<HttpMessage>([...(s.clientApp?.messages ?? []), ...(s.serverApp?.messages ?? [])]);
  all.push(...dec);
  all.sort((a, b) => a.frame - b.frame);
  for (const m of all) {
    const d = dec.has(m) ? { decrypted: true } : {};
    if (m.kind === 'request') f.http.push({ method: m.method, target: m.target, frame: m.frame, ...d });
    else {
      const e = oauthError(m);
      f.http.push({ status: m.status, frame: m.frame, ...(e ? { error: e.error, description: e.description } : {}), ...d });
    }
  }
}

export function oauthError(m: HttpMessage): { error: string; description: string } | null {
  const ct = header(m, 'content-type') ?? '';
  if (!m.body || (!/json/i.test(ct) && !m.body.trim().startsWith('{'))) return null;
  try {
    const j = JSON.parse(m.body) as Record<string, unknown>;
    if (typeof j.error !== 'string') return null;
    const d = j.error_description ?? j.error_message ?? j.message ?? '';
    return { error: j.error, description: String(d) };
  } catch {
    const mm = /"error"\s*:\s*"([^"]+)"/.exec(m.body);
    return mm ? { error: mm[1]!, description: '' } : null;
  }
}

export { CT_HANDSHAKE };
