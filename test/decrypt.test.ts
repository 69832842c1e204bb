/**
 * TLS decryption with key logs: the decrypted view of the corpus captures that come with key logs matches
 * tshark's (`tshark -o tls.keylog_file:...`, ref/*.tshark-decrypted.tsv) field for field; the SSM
 * captures with a `.keys` file give their exact reason; a wrong key log is counted and the verdict falls
 * back to inference; redaction holds on the decrypted output; key derivations against published values.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/diagnose/analyze.js';
import { DirectionKeys, SUITES, hkdfExpandLabel, prf, tls12Keys } from '../src/protocols/decrypt.js';
import { decryptedView, type DecryptedCapture } from '../src/protocols/decrypt-view.js';
import { KeyLog } from '../src/protocols/keylog.js';
import { ROOT, runCli } from './helpers/cli.js';
import { labels } from './helpers/labels.js';

const CORPUS = path.join(ROOT, 'test', 'corpus');
const CAPTURES = path.join(ROOT, 'captures');

function keyLog(...files: string[]): KeyLog {
  const k = new KeyLog();
  for (const f of files) k.addFile(f);
  return k;
}

/** tshark's decrypted fields, compared per frame; HTTP answers are compared in order (see below) */
function compareWithTshark(view: DecryptedCapture, refFile: string): { diffs: string[]; refStatus: number[]; frames: number } {
  const lines = fs.readFileSync(refFile, 'utf8').trimEnd().split('\n');
  const cols = lines[0]!.split('\t');
  const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
  const diffs: string[] = [];
  const refStatus: number[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split('\t');
    const get = (n: string) => f[cols.indexOf(n)] ?? '';
    const frame = Number(get('frame.number'));
    const r = view.frames.get(frame);
    const mine: Record<string, string> = {
      'tls.record.version': r ? r.versions.map(hex).join(',') : '',
      'tls.record.content_type': r ? r.contentTypes.join(',') : '',
      'tls.record.opaque_type': r ? r.opaqueTypes.join(',') : '',
      'tls.handshake.type': r ? r.handshakeTypes.join(',') : '',
      'tls.alert_message.level': r ? r.alertLevels.join(',') : '',
      'tls.alert_message.desc': r ? r.alertDescriptions.join(',') : '',
      'http.request.method': r ? r.httpMethods.join(',') : '',
      'http.request.uri': r ? r.httpUris.join(',') : '',
    };
    // HTTP outside TLS (pp__pcapng-example has a clear-text HTTP stream) is not this view's business
    const tlsFrame = get('tls.record.version') !== '' || !!r;
    for (const [k, v] of Object.entries(mine)) {
      if (k.startsWith('http') && !tlsFrame) continue;
      if (get(k) !== v) diffs.push(`frame ${frame} ${k}: ssmcap ${JSON.stringify(v)}, tshark ${JSON.stringify(get(k))}`);
    }
    if (get('http.response.code') && tlsFrame) refStatus.push(...get('http.response.code').split(',').map(Number));
  }
  return { diffs, refStatus, frames: lines.length - 1 };
}

const CORPUS_CASES = [
  { capture: 'it12__capture.pcap', keys: 'it12__capture.keylog.txt', what: 'TLS 1.2 ECDHE-RSA AES-128-CBC-SHA, close_notify' },
  { capture: 'it13__capture.pcap', keys: 'it13__capture.keylog.txt', what: 'TLS 1.3 AES-256-GCM-SHA384: encrypted handshake, tickets, data' },
  { capture: 'zk__tls__tls12-decryption.pcap', keys: 'zk__tls__tls12-decryption.keylog.txt', what: 'TLS 1.2 AES-256-GCM, HTTP GET and 301' },
  { capture: 'zk__tls__tls-1.2-stream-keylog.pcap', keys: 'zk__tls__tls-1.2-stream-keylog.keylog.txt', what: 'TLS 1.2 AES-256-GCM, 160 kB of HTTP/1.1 over many segments' },
  { capture: 'pp__pcapng-example.pcapng', keys: 'pp__pcapng-example.keylog.txt', what: 'TLS 1.0 DHE-RSA AES-256-CBC-SHA after a MySQL prologue (implicit IVs)' },
];

describe("the decrypted view matches tshark's", () => {
  it.each(CORPUS_CASES)('$capture: $what', async ({ capture, keys }) => {
    const view = await decryptedView(path.join(CORPUS, capture), keyLog(path.join(CORPUS, keys)));
    const { diffs, refStatus, frames } = compareWithTshark(view, path.join(CORPUS, 'ref', `${capture}.tshark-decrypted.tsv`));
    expect(frames).toBeGreaterThan(10);
    expect(diffs).toEqual([]);
    // every protected record decrypted and authenticated
    expect(view.connections.length).toBeGreaterThan(0);
    for (const c of view.connections) {
      const s = c.decryptor.summary();
      expect(s.failed, JSON.stringify(s.failures)).toBe(0);
      expect(s.decrypted).toBe(s.records);
      expect(s.records).toBeGreaterThan(0);
    }
    // answers: tshark puts the status where the body completes, ssmcap where the head is read; the
    // sequence of statuses is the same
    const mine = view.connections.flatMap((c) => c.serverHttp.messages.map((m) => m.status));
    expect(mine).toEqual(refStatus);
  });

  it('without the key log, the same captures show no decrypted record', async () => {
    const view = await decryptedView(path.join(CORPUS, 'it13__capture.pcap'), new KeyLog());
    const { diffs } = compareWithTshark(view, path.join(CORPUS, 'ref', 'it13__capture.pcap.tshark-decrypted.tsv'));
    expect(diffs.length).toBeGreaterThan(0);
    expect(view.connections[0]!.decryptor.summary()).toMatchObject({ decrypted: 0, keylog: null });
  });

  it('a key log inside the capture (pcapng Decryption Secrets Block) decrypts it like the file beside it', async () => {
    const view = await decryptedView(path.join(CORPUS, 'it12__capture-dsb.pcapng'), new KeyLog());
    const { diffs } = compareWithTshark(view, path.join(CORPUS, 'ref', 'it12__capture.pcap.tshark-decrypted.tsv'));
    expect(diffs).toEqual([]);
    expect(view.connections[0]!.decryptor.summary()).toMatchObject({ failed: 0, keylog: 'Decryption Secrets Block' });
  });
});

/**
 * Made on this project's machine (OpenSSL 3 s_server, curl with SSLKEYLOGFILE, tcpdump -i lo), with
 * tshark 4.0.17's decrypted fields beside them: a TLS 1.3 server that requires a client certificate
 * (its certificate_required alert is encrypted), a client that rejects a self-signed server (whose
 * certificate is encrypted in TLS 1.3), and a server that rejects the client's certificate (unknown_ca,
 * encrypted).
 */
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
// (test/fixtures/make-tls13-fixtures.sh is the recipe of these and of the cipher captures below)

describe('the other ciphers, on captures made here (two connections each, the second resumed)', () => {
  it.each([
    ['tls13-chacha20.pcap', 0x1303, false],
    ['tls12-chacha20.pcap', 0xcca9, false],
    ['tls12-cbc-sha256-etm.pcap', 0xc023, true],
    ['tls12-cbc-sha384-etm.pcap', 0xc024, true],
  ] as const)('%s: as tshark decrypts it', async (f, suite, etm) => {
    const view = await decryptedView(path.join(FIXTURES, f), keyLog(path.join(FIXTURES, `${f}.keys`)));
    const { diffs } = compareWithTshark(view, path.join(FIXTURES, `${f}.tshark-decrypted.tsv`));
    expect(diffs).toEqual([]);
    expect(view.connections).toHaveLength(2);
    for (const c of view.connections) {
      expect(c.serverTls.serverHello).toMatchObject({ cipherSuite: suite, encryptThenMac: etm });
      expect(c.decryptor.summary()).toMatchObject({ failed: 0 });
      expect(c.decryptor.decrypted).toBeGreaterThanOrEqual(4);
      // (tshark does not dissect these answers as HTTP on a port it does not know; they are read here)
      expect(c.serverHttp.messages.map((m) => m.status)).toEqual([200]);
      expect(c.clientHttp.messages.map((m) => m.method)).toEqual(['GET']);
    }
  });
});

describe('TLS 1.3 KeyUpdate on the wire', () => {
  it('tls13-keyupdate.pcap: the client updates its keys before its request, which still decrypts', async () => {
    const f = 'tls13-keyupdate.pcap';
    const view = await decryptedView(path.join(FIXTURES, f), keyLog(path.join(FIXTURES, `${f}.keys`)));
    const { diffs } = compareWithTshark(view, path.join(FIXTURES, `${f}.tshark-decrypted.tsv`));
    expect(diffs).toEqual([]);
    expect(view.frames.get(9)!.handshakeTypes).toEqual([24]);
    const c = view.connections[0]!;
    expect(c.decryptor.summary()).toMatchObject({ failed: 0 });
    expect(c.clientHttp.messages.map((m) => `${m.method} ${m.target} ${m.frame}`)).toEqual(['GET /backend/api/v1/accounts 15']);
    expect(c.serverHttp.messages.map((m) => m.status)).toEqual([200]);
  });
});

describe('TLS 1.3 encrypted alerts and certificates become facts', () => {
  it.each(['tls13-certificate-required.pcap', 'tls13-unknown-ca.pcap', 'tls13-client-cert-unknown-ca.pcap'])('%s: decrypted view as tshark shows it', async (f) => {
    const view = await decryptedView(path.join(FIXTURES, f), keyLog(path.join(FIXTURES, `${f}.keys`)));
    const { diffs } = compareWithTshark(view, path.join(FIXTURES, `${f}.tshark-decrypted.tsv`));
    expect(diffs).toEqual([]);
    expect(view.connections[0]!.decryptor.summary()).toMatchObject({ failed: 0 });
  });

  it("the server's encrypted certificate_required alert is read, where without keys it is only inferred", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-alert-'));
    const bare = path.join(dir, 'x.pcap');
    fs.copyFileSync(path.join(FIXTURES, 'tls13-certificate-required.pcap'), bare);
    const without = await analyzeCapture(bare, { port: 28444 });
    // without keys: an alert-sized record and a close right after the client's Finished, inferred
    expect(without.servers[0]).toMatchObject({ verdict: 'tls', reason: 'handshake-failure' });
    expect(without.connections[0]!.inferred).toBe(true);
    const a = await analyzeCapture(path.join(FIXTURES, 'tls13-certificate-required.pcap'), { port: 28444 });
    expect(a.servers[0]).toMatchObject({ verdict: 'tls', reason: 'handshake-failure' });
    const c = a.connections[0]!;
    expect(c.inferred).toBe(false);
    expect(c.tls!.alerts).toContain('server certificate_required');
    expect(c.evidence.some((e) => e.frame === 9 && /certificate_required \(116\), read by decrypting it/.test(e.text))).toBe(true);
    fs.rmSync(dir, { recursive: true });
  });

  it("the server's encrypted unknown_ca for the client's certificate: untrusted-certificate as a fact, the decrypted client certificate named", async () => {
    const a = await analyzeCapture(path.join(FIXTURES, 'tls13-client-cert-unknown-ca.pcap'), { port: 28445 });
    expect(a.servers[0]).toMatchObject({ verdict: 'tls', reason: 'untrusted-certificate' });
    const c = a.connections[0]!;
    expect(c.inferred).toBe(false);
    expect(c.summary).toMatch(/rejects the client's certificate: fatal alert unknown_ca/);
    expect(c.evidence.map((e) => e.text)).toEqual(expect.arrayContaining([expect.stringMatching(/^client certificate: O=vManage Test, CN=vmanage/), expect.stringMatching(/server sends fatal alert unknown_ca \(48\), read by decrypting/)]));
    expect(c.evidence.some((e) => /^server certificate/.test(e.text))).toBe(false);
  });

  it('the TLS 1.3 server certificate, encrypted on the wire, is in the evidence and the report', async () => {
    const a = await analyzeCapture(path.join(FIXTURES, 'tls13-unknown-ca.pcap'), { port: 28443 });
    expect(a.servers[0]).toMatchObject({ verdict: 'tls', reason: 'untrusted-certificate' });
    const c = a.connections[0]!;
    expect(c.tls!.certificate).toMatchObject({ subject: 'O=Untrusted Test, CN=ssm-onprem.example' });
    expect(c.evidence.some((e) => /server certificate: O=Untrusted Test/.test(e.text))).toBe(true);
  });
});

describe('SSM captures with their key logs', () => {
  const keyed = labels.filter((l) => fs.existsSync(path.join(CAPTURES, `${l.file}.keys`)));
  const full = (l: (typeof labels)[number]) => Number((l as { capture?: { snaplen?: number } }).capture?.snaplen ?? 262144) >= 1500;

  it('there are keyed captures of both kinds', () => {
    expect(keyed.filter(full).length).toBeGreaterThanOrEqual(6);
    expect(keyed.filter((l) => !full(l)).length).toBeGreaterThanOrEqual(1);
  });

  it.each(keyed.map((l) => [l.file, l] as const))('%s: the exact reason with --keylog', async (_f, l) => {
    const a = await analyzeCapture(path.join(CAPTURES, l.file), { keylog: [path.join(CAPTURES, `${l.file}.keys`)], keylogBeside: false });
    const s = a.servers.find((x) => x.address === l.server.address && x.port === l.server.port)!;
    expect(s.verdict).toBe(l.verdict);
    expect(a.input.keylog?.sources).toEqual([{ source: path.join(CAPTURES, `${l.file}.keys`), secrets: expect.any(Number) }]);
    if (full(l)) {
      expect(s.reason).toBe(l.subclass);
      const c = a.connections.find((x) => x.tls?.decrypted && x.tls.decrypted.decrypted > 0)!;
      expect(c.tls!.decrypted).toMatchObject({ failed: 0 });
      expect(c.tls!.decrypted!.keylog).toBe(path.join(CAPTURES, `${l.file}.keys`));
      if (l.verdict === 'application' || l.verdict === 'healthy') {
        expect(c.inferred).toBe(false);
        expect(c.http.some((h) => h.decrypted && h.method === 'POST' && /token/.test(h.target ?? ''))).toBe(true);
      }
    } else {
      // the snaplen cut the answer's text: the refusal stays inferred, and what did not decrypt is named
      expect(s.reason).toBe('auth-rejected');
      const c = a.connections.find((x) => x.tls?.decrypted)!;
      expect(c.tls!.decrypted!.failed).toBeGreaterThan(0);
      expect(c.evidence.some((e) => /^decryption: /.test(e.text))).toBe(true);
      // the ServerHello's suite was cut too: the AEAD suite whose keys turn the answer's captured start
      // into a status line is found, and that status line is read (GCM needs no tag for that)
      expect(c.http.filter((h) => h.decrypted && h.status !== undefined).map((h) => h.status)).toEqual([403]);
      expect(c.evidence.some((e) => /decrypted answer: HTTP 403 Forbidden \(the rest cut by the snaplen\)/.test(e.text))).toBe(true);
      expect(s.summary).toMatch(/answered 403 Forbidden .*its error document was cut by the snaplen/);
    }
  });

  it('reads CAPTURE.keys beside a capture by itself and says so', async () => {
    const a = await analyzeCapture(path.join(CAPTURES, 'a04-auth-401-invalid-grant-tls13.pcap'));
    expect(a.servers[0]).toMatchObject({ reason: 'invalid-grant' });
    expect(a.input.keylog!.sources[0]!.source).toMatch(/a04-auth-401-invalid-grant-tls13\.pcap\.keys \(beside the capture\)$/);
    expect(a.input.keylog).toMatchObject({ connections: 1, decrypted_connections: 1 });
    const off = await analyzeCapture(path.join(CAPTURES, 'a04-auth-401-invalid-grant-tls13.pcap'), { keylogBeside: false });
    expect(off.servers[0]).toMatchObject({ reason: 'auth-rejected' });
    expect(off.input.keylog).toBeUndefined();
  });

  it('a Decryption Secrets Block in the capture is used by analyze', async () => {
    const a = await analyzeCapture(path.join(ROOT, 'test', 'fixtures', 'a03-dsb.pcapng'));
    expect(a.servers[0]).toMatchObject({ verdict: 'application', reason: 'invalid-client' });
    expect(a.input.keylog!.sources[0]!.source).toMatch(/Decryption Secrets Block at byte \d+/);
  });

  it('a key log for other connections: every record counted as failed, the verdict inferred and saying so', async () => {
    const a = await analyzeCapture(path.join(CAPTURES, 'a03-auth-403-invalid-client-tls12.pcap'), { keylog: [path.join(CAPTURES, 'a04-auth-401-invalid-grant-tls13.pcap.keys')], keylogBeside: false });
    const c = a.connections[0]!;
    expect(c.reason).toBe('auth-rejected');
    expect(c.inferred).toBe(true);
    expect(c.tls!.decrypted).toMatchObject({ decrypted: 0, keylog: null });
    expect(c.tls!.decrypted!.failed).toBe(c.tls!.decrypted!.records);
    expect(c.tls!.decrypted!.problem).toMatch(/no secret for this connection's client random/);
    expect(c.summary).toMatch(/inferred: the key log did not decrypt this connection/);
  });

  it('a wrong master secret for the right client random: records do not authenticate, inference decides', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-keys-'));
    const good = fs.readFileSync(path.join(CAPTURES, 'a03-auth-403-invalid-client-tls12.pcap.keys'), 'utf8');
    const bad = good.replace(/^(CLIENT_RANDOM [0-9a-f]{64} )([0-9a-f])/im, (_m, pre: string, d: string) => pre + (d === '0' ? '1' : '0'));
    expect(bad).not.toBe(good);
    const f = path.join(dir, 'wrong.keys');
    fs.writeFileSync(f, bad);
    const a = await analyzeCapture(path.join(CAPTURES, 'a03-auth-403-invalid-client-tls12.pcap'), { keylog: [f], keylogBeside: false });
    const c = a.connections[0]!;
    expect(c.reason).toBe('auth-rejected');
    expect(c.inferred).toBe(true);
    expect(c.tls!.decrypted).toMatchObject({ decrypted: 0, keylog: f });
    expect(c.tls!.decrypted!.failed).toBeGreaterThan(0);
    expect(c.tls!.decrypted!.failures[0]!.why).toMatch(/does not authenticate/);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('ssmcap analyze --keylog', () => {
  it('decrypts, reports the key log used, and redacts every decrypted secret', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-cli-keys-'));
    // a copy without the key log beside it: only --keylog can decrypt it
    const cap = path.join(dir, 'a01.pcap');
    fs.copyFileSync(path.join(CAPTURES, 'a01-healthy-tls12.pcap'), cap);
    const keys = path.join(CAPTURES, 'a01-healthy-tls12.pcap.keys');
    const plain = await analyzeCapture(cap, { keylog: [keys] });
    const token = plain.connections[0]!.http.find((h) => h.method === 'POST')!.target!;
    const secret = /client_secret=([^&]+)/.exec(token)![1]!;
    const password = /password=([^&]+)/.exec(token)![1]!;
    const clientId = /client_id=([^&]+)/.exec(token)![1]!;
    expect(secret.length).toBeGreaterThan(3);

    // the three formats' processes at once
    const [json, text, nd] = await Promise.all([runCli(['analyze', cap, '--keylog', keys, '--format', 'json']), runCli(['analyze', cap, '--keylog', keys]), runCli(['analyze', cap, '--keylog', keys, '--format', 'ndjson'])]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.connections[0].tls.decrypted).toMatchObject({ failed: 0, keylog: keys });
    expect(doc.inputs[0].keylog.sources).toEqual([{ source: keys, secrets: 1 }]);
    for (const out of [json.stdout]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(`password=${password}`);
      expect(out).not.toContain(clientId);
      expect(out).toContain('client_secret=***');
      expect(out).toContain(`client_id=${clientId.slice(0, 6)}***`);
    }
    expect(text.stdout).toMatch(/decrypted \d+ of \d+ TLS records with .*a01-healthy-tls12\.pcap\.keys/);
    expect(text.stdout).toMatch(/TLS decryption: key log .*a01-healthy-tls12\.pcap\.keys \(1 secret\)/);
    expect(text.stdout).not.toContain(secret);
    expect(nd.stdout).toContain('decrypted request: POST');
    expect(nd.stdout).not.toContain(secret);
    fs.rmSync(dir, { recursive: true });
  });

  it('names bad key log lines on stderr with their line numbers and goes on', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-cli-bad-'));
    const f = path.join(dir, 'bad.keys');
    fs.writeFileSync(f, `# comment\nCLIENT_RANDOM 1234 5678\n${fs.readFileSync(path.join(CAPTURES, 'a03-auth-403-invalid-client-tls12.pcap.keys'), 'utf8')}garbage here\n`);
    const r = await runCli(['analyze', path.join(CAPTURES, 'a03-auth-403-invalid-client-tls12.pcap'), '--keylog', f]);
    expect(r.code).toBe(12);
    expect(r.stderr).toMatch(/bad\.keys: line 2: CLIENT_RANDOM: the client random must be 64 hex digits/);
    expect(r.stderr).toMatch(/bad\.keys: line 4: not a key log line/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toMatch(/^APPLICATION \(invalid-client\)/);
    const missing = await runCli(['analyze', path.join(CAPTURES, 'a05-port-closed-rst.pcap'), '--keylog', path.join(dir, 'none.keys')]);
    expect(missing.code).toBe(10);
    expect(missing.stderr).toMatch(/none\.keys: cannot read key log: ENOENT/);
    fs.rmSync(dir, { recursive: true });
  });

  it('packets is unaffected by key logs beside the capture', async () => {
    const r = await runCli(['packets', path.join(CAPTURES, 'a03-auth-403-invalid-client-tls12.pcap'), '--format', 'tsv', '-e', 'frame.number', '-e', 'tcp.len']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/decrypt/i);
  });
});

describe('key derivation and record protection', () => {
  it('HKDF-Expand-Label gives the RFC 8448 handshake traffic key and IV', () => {
    // RFC 8448 3 (Simple 1-RTT Handshake): {server} derive write traffic keys for handshake data
    const secret = Buffer.from('b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38', 'hex');
    expect(hkdfExpandLabel('sha256', secret, 'key', 16).toString('hex')).toBe('3fce516009c21727d0f2e4e86ee403bc');
    expect(hkdfExpandLabel('sha256', secret, 'iv', 12).toString('hex')).toBe('5d313eb2671276ee13000b30');
  });

  it('the TLS 1.2 PRF is P_SHA256 (RFC 5246 test vector)', () => {
    // the widely used TLS 1.2 PRF (SHA-256) test vector (from the IETF TLS list)
    const secret = Buffer.from('9bbe436ba940f017b17652849a71db35', 'hex');
    const seed = Buffer.from('a0ba9f936cda311827a6f796ffd5198c', 'hex');
    const out = prf(0x0303, 'sha256', secret, 'test label', seed, 100);
    expect(out.subarray(0, 16).toString('hex')).toBe('e3f229ba727be17b8d122620557cd453');
  });

  /** a TLS 1.3 record as a peer would write it, with node's cipher (nonce = iv xor seq, AAD = header) */
  function seal13(key: Buffer, iv: Buffer, seq: number, inner: number, data: Buffer): { hdr: Buffer; body: Buffer } {
    const nonce = Buffer.from(iv);
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
    const plain = Buffer.concat([data, Buffer.of(inner)]);
    const len = plain.length + 16;
    const hdr = Buffer.of(23, 3, 3, len >> 8, len & 0xff);
    const c = createCipheriv('aes-128-gcm', key, nonce);
    c.setAAD(hdr);
    const body = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    return { hdr, body };
  }

  it('TLS 1.3 KeyUpdate: the next traffic secret, sequence numbers from 0', () => {
    const suite = SUITES[0x1301]!;
    const secret = randomBytes(32);
    const k = DirectionKeys.tls13(suite, secret);
    const key0 = hkdfExpandLabel('sha256', secret, 'key', 16);
    const iv0 = hkdfExpandLabel('sha256', secret, 'iv', 12);
    for (let seq = 0; seq < 3; seq++) {
      const r = seal13(key0, iv0, seq, 23, Buffer.from(`record ${seq}`));
      expect(k.decrypt(23, 0x0303, r.body, r.body.length, false)).toMatchObject({ type: 23, partial: false });
    }
    const next = hkdfExpandLabel('sha256', secret, 'traffic upd', 32);
    k.keyUpdate();
    const r = seal13(hkdfExpandLabel('sha256', next, 'key', 16), hkdfExpandLabel('sha256', next, 'iv', 12), 0, 21, Buffer.of(2, 42));
    const p = k.decrypt(23, 0x0303, r.body, r.body.length, false)!;
    expect(p.type).toBe(21);
    expect([...p.data]).toEqual([2, 42]);
    // a record sealed under the old keys no longer decrypts
    const old = seal13(key0, iv0, 1, 23, Buffer.from('x'));
    expect(k.decrypt(23, 0x0303, old.body, old.body.length, false)).toBeNull();
  });

  it('TLS 1.2 ChaCha20-Poly1305 (RFC 7905 nonce) and AES-CBC with encrypt-then-MAC (RFC 7366)', () => {
    const master = randomBytes(48);
    const cr = randomBytes(32);
    const sr = randomBytes(32);
    const seqHdr = (seq: number, type: number, len: number) => {
      const b = Buffer.alloc(13);
      b.writeUInt32BE(seq, 4);
      b[8] = type;
      b[9] = 3;
      b[10] = 3;
      b.writeUInt16BE(len, 11);
      return b;
    };
    // ChaCha20: key block = client key 32, server key 32, client IV 12, server IV 12
    const ch = SUITES[0xcca8]!;
    const kb = prf(0x0303, 'sha256', master, 'key expansion', Buffer.concat([sr, cr]), 88);
    const keys = tls12Keys(ch, 0x0303, master, cr, sr, false);
    const data = Buffer.from('HTTP/1.1 403 Forbidden\r\n\r\n');
    for (let seq = 0; seq < 2; seq++) {
      const nonce = Buffer.from(kb.subarray(76, 88));
      nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
      const c = createCipheriv('chacha20-poly1305', kb.subarray(32, 64), nonce, { authTagLength: 16 });
      c.setAAD(seqHdr(seq, 23, data.length), { plaintextLength: data.length });
      const body = Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
      if (seq === 0) {
        // cut by the snaplen: the captured start deciphers, unauthenticated
        const cut = tls12Keys(ch, 0x0303, master, cr, sr, false).server.decrypt(23, 0x0303, body.subarray(0, 12), body.length, true)!;
        expect(cut.partial).toBe(true);
        expect(Buffer.from(cut.data).toString()).toBe('HTTP/1.1 403');
      }
      const p = keys.server.decrypt(23, 0x0303, body, body.length, false)!;
      expect(Buffer.from(p.data).toString()).toBe(data.toString());
    }
    // AES-128-CBC-SHA256 with encrypt-then-MAC: mac keys 32+32, enc keys 16+16, no IVs in TLS 1.2
    const cbc = SUITES[0xc027]!;
    const kb2 = prf(0x0303, 'sha256', master, 'key expansion', Buffer.concat([sr, cr]), 96);
    const etm = tls12Keys(cbc, 0x0303, master, cr, sr, true);
    const iv = randomBytes(16);
    const padLen = 16 - ((data.length + 1) % 16);
    const padded = Buffer.concat([data, Buffer.alloc(padLen + 1, padLen)]);
    const c = createCipheriv('aes-128-cbc', kb2.subarray(64, 80), iv);
    c.setAutoPadding(false);
    const ct = Buffer.concat([iv, c.update(padded), c.final()]);
    const mac = createHmac('sha256', kb2.subarray(0, 32)).update(seqHdr(0, 23, ct.length)).update(ct).digest();
    const body = Buffer.concat([ct, mac]);
    expect(Buffer.from(etm.client.decrypt(23, 0x0303, body, body.length, false)!.data).toString()).toBe(data.toString());
    // a flipped MAC byte: refused before deciphering
    body[body.length - 1]! ^= 1;
    expect(etm.client.decrypt(23, 0x0303, body, body.length, false)).toBeNull();
  });
});
