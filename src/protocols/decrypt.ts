/**
 * TLS record decryption with secrets from a key log, all with node:crypto (no cipher written here).
 *
 * TLS 1.0 to 1.2: the master secret (CLIENT_RANDOM) is expanded into the key block with the PRF of the
 * version and suite (TLS 1.2: P_SHA256, or P_SHA384 for *_SHA384 suites; TLS 1.0/1.1: P_MD5 xor P_SHA1),
 * then AES-GCM (fixed IV + explicit nonce), ChaCha20-Poly1305 (RFC 7905 nonce), or a CBC cipher with
 * HMAC-SHA1/256/384, MAC-then-encrypt or encrypt-then-MAC (RFC 7366) as the ServerHello negotiated.
 * TLS 1.3: HKDF-Expand-Label traffic keys and IVs from the handshake and application traffic secrets,
 * per-record nonces, AES-128/256-GCM and ChaCha20-Poly1305, the inner content type, and KeyUpdate.
 *
 * A record whose body the snaplen cut is counted as failed; with AES-GCM or ChaCha20 its captured start is
 * still deciphered (counter mode needs no tag for that), unauthenticated, and marked so: a status line
 * is often all a cut answer shows.
 */
import { createDecipheriv, createHmac, type DecipherGCM } from 'node:crypto';
import type { KeyLog, KeySet } from './keylog.js';
import { ALERTS, CT_ALERT, CT_APPDATA, CT_HANDSHAKE, CT_OPAQUE, HS, parseCertificateList, type TlsRecordInfo, type TlsStream } from './tls.js';

export interface Suite {
  name: string;
  cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' | 'aes-128-cbc' | 'aes-256-cbc' | 'des-ede3-cbc';
  keyLen: number;
  /** TLS 1.2 fixed IV length (GCM 4, ChaCha 12, CBC the block size for TLS 1.0), TLS 1.3 always 12 */
  ivLen: number;
  /** CBC suites: HMAC digest and its length */
  mac: 'sha1' | 'sha256' | 'sha384' | null;
  macLen: number;
  /** PRF hash (TLS 1.2) or HKDF hash (TLS 1.3) */
  hash: 'sha256' | 'sha384';
  blockLen: number;
}

const gcm128 = (name: string, hash: 'sha256' | 'sha384' = 'sha256'): Suite => ({ name, cipher: 'aes-128-gcm', keyLen: 16, ivLen: 4, mac: null, macLen: 0, hash, blockLen: 16 });
const gcm256 = (name: string): Suite => ({ name, cipher: 'aes-256-gcm', keyLen: 32, ivLen: 4, mac: null, macLen: 0, hash: 'sha384', blockLen: 16 });
const chacha = (name: string): Suite => ({ name, cipher: 'chacha20-poly1305', keyLen: 32, ivLen: 12, mac: null, macLen: 0, hash: 'sha256', blockLen: 1 });
const cbc = (name: string, bits: 128 | 256 | 168, mac: 'sha1' | 'sha256' | 'sha384'): Suite => ({
  name,
  cipher: bits === 128 ? 'aes-128-cbc' : bits === 256 ? 'aes-256-cbc' : 'des-ede3-cbc',
  keyLen: bits === 168 ? 24 : bits / 8,
  ivLen: bits === 168 ? 8 : 16,
  mac,
  macLen: mac === 'sha1' ? 20 : mac === 'sha256' ? 32 : 48,
  hash: mac === 'sha384' ? 'sha384' : 'sha256',
  blockLen: bits === 168 ? 8 : 16,
});

/** cipher suites by IANA number (RFC 5246, 5288, 5289, 7905, 8446) */
export const SUITES: Record<number, Suite> = {
  0x000a: cbc('TLS_RSA_WITH_3DES_EDE_CBC_SHA', 168, 'sha1'),
  0x002f: cbc('TLS_RSA_WITH_AES_128_CBC_SHA', 128, 'sha1'),
  0x0033: cbc('TLS_DHE_RSA_WITH_AES_128_CBC_SHA', 128, 'sha1'),
  0x0035: cbc('TLS_RSA_WITH_AES_256_CBC_SHA', 256, 'sha1'),
  0x0039: cbc('TLS_DHE_RSA_WITH_AES_256_CBC_SHA', 256, 'sha1'),
  0x003c: cbc('TLS_RSA_WITH_AES_128_CBC_SHA256', 128, 'sha256'),
  0x003d: cbc('TLS_RSA_WITH_AES_256_CBC_SHA256', 256, 'sha256'),
  0x0067: cbc('TLS_DHE_RSA_WITH_AES_128_CBC_SHA256', 128, 'sha256'),
  0x006b: cbc('TLS_DHE_RSA_WITH_AES_256_CBC_SHA256', 256, 'sha256'),
  0x009c: gcm128('TLS_RSA_WITH_AES_128_GCM_SHA256'),
  0x009d: gcm256('TLS_RSA_WITH_AES_256_GCM_SHA384'),
  0x009e: gcm128('TLS_DHE_RSA_WITH_AES_128_GCM_SHA256'),
  0x009f: gcm256('TLS_DHE_RSA_WITH_AES_256_GCM_SHA384'),
  0xc009: cbc('TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 128, 'sha1'),
  0xc00a: cbc('TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 256, 'sha1'),
  0xc012: cbc('TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA', 168, 'sha1'),
  0xc013: cbc('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 128, 'sha1'),
  0xc014: cbc('TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 256, 'sha1'),
  0xc023: cbc('TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', 128, 'sha256'),
  0xc024: cbc('TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', 256, 'sha384'),
  0xc027: cbc('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 128, 'sha256'),
  0xc028: cbc('TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384', 256, 'sha384'),
  0xc02b: gcm128('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'),
  0xc02c: gcm256('TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'),
  0xc02f: gcm128('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'),
  0xc030: gcm256('TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'),
  0xcca8: chacha('TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'),
  0xcca9: chacha('TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'),
  0xccaa: chacha('TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256'),
  0x1301: { ...gcm128('TLS_AES_128_GCM_SHA256'), ivLen: 12 },
  0x1302: { ...gcm256('TLS_AES_256_GCM_SHA384'), ivLen: 12 },
  0x1303: chacha('TLS_CHACHA20_POLY1305_SHA256'),
};

const enc = new TextEncoder();

/** HMAC-based P_hash (RFC 5246 5) */
function pHash(hash: string, secret: Uint8Array, seed: Uint8Array, n: number): Buffer {
  const out: Buffer[] = [];
  let len = 0;
  let a: Buffer = createHmac(hash, secret).update(seed).digest();
  while (len < n) {
    const b = createHmac(hash, secret).update(a).update(seed).digest();
    out.push(b);
    len += b.length;
    a = createHmac(hash, secret).update(a).digest();
  }
  return Buffer.concat(out).subarray(0, n);
}

/** the TLS PRF: TLS 1.2 P_<hash>, TLS 1.0/1.1 P_MD5 xor P_SHA1 over the two halves of the secret */
export function prf(version: number, hash: 'sha256' | 'sha384', secret: Uint8Array, label: string, seed: Uint8Array, n: number): Buffer {
  const ls = Buffer.concat([enc.encode(label), seed]);
  if (version >= 0x0303) return pHash(hash, secret, ls, n);
  const half = Math.ceil(secret.length / 2);
  const md5 = pHash('md5', secret.subarray(0, half), ls, n);
  const sha1 = pHash('sha1', secret.subarray(secret.length - half), ls, n);
  for (let i = 0; i < n; i++) md5[i]! ^= sha1[i]!;
  return md5;
}

/** HKDF-Expand (RFC 5869) with HMAC */
function hkdfExpand(hash: string, prk: Uint8Array, info: Uint8Array, n: number): Buffer {
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  let len = 0;
  for (let i = 1; len < n; i++) {
    t = createHmac(hash, prk).update(t).update(info).update(Buffer.of(i)).digest();
    out.push(t);
    len += t.length;
  }
  return Buffer.concat(out).subarray(0, n);
}

/** HKDF-Expand-Label (RFC 8446 7.1) with an empty context */
export function hkdfExpandLabel(hash: string, secret: Uint8Array, label: string, n: number): Buffer {
  const l = enc.encode(`tls13 ${label}`);
  const info = Buffer.concat([Buffer.of(n >> 8, n & 0xff, l.length), l, Buffer.of(0)]);
  return hkdfExpand(hash, secret, info, n);
}

/** what decrypting one record gave */
export interface Plain {
  /** the record's real content type (TLS 1.3: the inner type) */
  type: number;
  data: Uint8Array;
  /** only the captured start of a cut record, not authenticated */
  partial: boolean;
}

/** one direction's record protection: keys, IV and sequence number */
export class DirectionKeys {
  seq = 0n;
  private macKey: Uint8Array = Buffer.alloc(0);
  private key: Uint8Array;
  private iv: Uint8Array;
  constructor(
    readonly suite: Suite,
    readonly version: number,
    key: Uint8Array,
    iv: Uint8Array,
    macKey: Uint8Array | null,
    readonly encryptThenMac: boolean,
    /** the TLS 1.3 traffic secret these keys came from (KeyUpdate derives the next) */
    private secret: Uint8Array | null,
  ) {
    this.key = key;
    this.iv = iv;
    if (macKey) this.macKey = macKey;
  }

  static tls13(suite: Suite, secret: Uint8Array): DirectionKeys {
    return new DirectionKeys(suite, 0x0304, hkdfExpandLabel(suite.hash, secret, 'key', suite.keyLen), hkdfExpandLabel(suite.hash, secret, 'iv', 12), null, false, secret);
  }

  /** TLS 1.3 KeyUpdate: the next application traffic secret, sequence from 0 */
  keyUpdate(): void {
    if (!this.secret) return;
    const hashLen = this.suite.hash === 'sha384' ? 48 : 32;
    this.secret = hkdfExpandLabel(this.suite.hash, this.secret, 'traffic upd', hashLen);
    this.key = hkdfExpandLabel(this.suite.hash, this.secret, 'key', this.suite.keyLen);
    this.iv = hkdfExpandLabel(this.suite.hash, this.secret, 'iv', 12);
    this.seq = 0n;
  }

  private seqBytes(): Buffer {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(this.seq);
    return b;
  }

  /** the per-record nonce of ChaCha20 (TLS 1.2) and TLS 1.3: IV xor the padded sequence number */
  private xorNonce(): Buffer {
    const n = Buffer.from(this.iv);
    const s = this.seqBytes();
    for (let i = 0; i < 8; i++) n[4 + i]! ^= s[i]!;
    return n;
  }

  /**
   * Decrypt one record body (`cut`: only its captured start is here). Returns null when it does not
   * authenticate. The sequence number advances either way (the record was sent).
   */
  decrypt(type: number, version: number, body: Uint8Array, fullLength: number, cut: boolean): Plain | null {
    try {
      return this.open(type, version, body, fullLength, cut);
    } catch {
      return null;
    } finally {
      this.seq++;
    }
  }

  private aead(nonce: Uint8Array): DecipherGCM {
    const s = this.suite;
    return s.cipher === 'chacha20-poly1305'
      ? (createDecipheriv('chacha20-poly1305', this.key, nonce, { authTagLength: 16 }) as unknown as DecipherGCM)
      : createDecipheriv(s.cipher as 'aes-128-gcm', this.key, nonce);
  }

  private open(type: number, version: number, body: Uint8Array, fullLength: number, cut: boolean): Plain | null {
    const s = this.suite;
    if (this.version === 0x0304) {
      if (fullLength < 17) return null;
      const d = this.aead(this.xorNonce());
      d.setAAD(Buffer.of(type, version >> 8, version & 0xff, fullLength >> 8, fullLength & 0xff));
      if (cut) {
        const part = d.update(body.subarray(0, Math.min(body.length, fullLength - 16)));
        return { type: -1, data: part, partial: true };
      }
      d.setAuthTag(body.subarray(fullLength - 16));
      const p = Buffer.concat([d.update(body.subarray(0, fullLength - 16)), d.final()]);
      let end = p.length;
      while (end > 0 && p[end - 1] === 0) end--;
      if (end === 0) return null;
      return { type: p[end - 1]!, data: p.subarray(0, end - 1), partial: false };
    }
    const hdr = (len: number) => Buffer.concat([this.seqBytes(), Buffer.of(type, version >> 8, version & 0xff, len >> 8, len & 0xff)]);
    if (s.cipher === 'aes-128-gcm' || s.cipher === 'aes-256-gcm') {
      if (fullLength < 24 || body.length < 8) return null;
      const nonce = Buffer.concat([this.iv, body.subarray(0, 8)]);
      const d = this.aead(nonce);
      if (cut) return { type, data: d.update(body.subarray(8, Math.min(body.length, fullLength - 16))), partial: true };
      d.setAAD(hdr(fullLength - 24));
      d.setAuthTag(body.subarray(fullLength - 16));
      return { type, data: Buffer.concat([d.update(body.subarray(8, fullLength - 16)), d.final()]), partial: false };
    }
    if (s.cipher === 'chacha20-poly1305') {
      if (fullLength < 16) return null;
      const d = this.aead(this.xorNonce());
      if (cut) return { type, data: d.update(body.subarray(0, Math.min(body.length, fullLength - 16))), partial: true };
      d.setAAD(hdr(fullLength - 16));
      d.setAuthTag(body.subarray(fullLength - 16));
      return { type, data: Buffer.concat([d.update(body.subarray(0, fullLength - 16)), d.final()]), partial: false };
    }
    // CBC with HMAC: the whole record is needed (padding and MAC sit at its end)
    if (cut) return null;
    const bl = s.blockLen;
    const explicitIv = this.version >= 0x0302;
    let ct = body;
    if (this.encryptThenMac) {
      // RFC 7366: MAC over the header and the IV + ciphertext, checked before deciphering
      if (body.length < s.macLen + bl) return null;
      ct = body.subarray(0, body.length - s.macLen);
      const mac = createHmac(s.mac!, this.macKey).update(hdr(ct.length)).update(ct).digest();
      if (!mac.equals(body.subarray(body.length - s.macLen))) return null;
    }
    if (ct.length % bl !== 0 || ct.length < bl) return null;
    let iv: Uint8Array;
    if (explicitIv) {
      iv = ct.subarray(0, bl);
      ct = ct.subarray(bl);
    } else {
      // TLS 1.0: the IV is the last ciphertext block of the previous record
      iv = this.iv;
      this.iv = Buffer.from(ct.subarray(ct.length - bl));
    }
    const d = createDecipheriv(s.cipher, this.key, iv);
    d.setAutoPadding(false);
    const p = Buffer.concat([d.update(ct), d.final()]);
    const pad = p[p.length - 1]!;
    if (pad + 1 > p.length) return null;
    for (let i = p.length - 1 - pad; i < p.length; i++) if (p[i] !== pad) return null;
    const content = p.subarray(0, p.length - pad - 1);
    if (this.encryptThenMac) return { type, data: content, partial: false };
    if (content.length < s.macLen) return null;
    const data = content.subarray(0, content.length - s.macLen);
    const mac = createHmac(s.mac!, this.macKey).update(hdr(data.length)).update(data).digest();
    if (!mac.equals(content.subarray(data.length))) return null;
    return { type, data, partial: false };
  }
}

/** TLS 1.0-1.2: both directions' keys from the master secret */
export function tls12Keys(suite: Suite, version: number, master: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array, etm: boolean): { client: DirectionKeys; server: DirectionKeys } {
  const aead = suite.mac === null;
  const macLen = aead ? 0 : suite.macLen;
  // TLS 1.1+ CBC: the IV is explicit per record, but the key block still holds (unused) IVs only in 1.0
  const ivLen = aead ? suite.ivLen : version === 0x0301 || version === 0x0300 ? suite.ivLen : 0;
  const n = 2 * macLen + 2 * suite.keyLen + 2 * ivLen;
  const kb = prf(version, suite.hash, master, 'key expansion', Buffer.concat([serverRandom, clientRandom]), n);
  let p = 0;
  const take = (k: number) => kb.subarray(p, (p += k));
  const cMac = take(macLen);
  const sMac = take(macLen);
  const cKey = take(suite.keyLen);
  const sKey = take(suite.keyLen);
  const cIv = take(ivLen);
  const sIv = take(ivLen);
  return {
    client: new DirectionKeys(suite, version, cKey, cIv, aead ? null : cMac, etm && !aead, null),
    server: new DirectionKeys(suite, version, sKey, sIv, aead ? null : sMac, etm && !aead, null),
  };
}


/** one protected record as decryption saw it (the decrypted view tests compare with tshark's) */
export interface DecryptedRecord {
  dir: 'c' | 's';
  /** frames of the record's first and last byte */
  frame: number;
  endFrame: number;
  /** the type on the wire */
  outerType: number;
  /** the real content type (TLS 1.3 inner type); -1 when it did not decrypt or was cut before it */
  type: number;
  /** plaintext bytes (of the captured part when partial) */
  length: number;
  handshakes: number[];
  alert?: { level: number; description: number };
  /** only the captured start of a cut record, not authenticated */
  partial: boolean;
  ok: boolean;
  /** the stream's record (kept only with `keepView`) */
  rec?: TlsRecordInfo;
}

export interface DecryptFailure {
  frame: number;
  dir: 'c' | 's';
  why: string;
}

const MAX_VIEW = 4096;
/** TLS 1.2 AEAD suites tried when the snaplen cut the suite from the ServerHello (GCM deciphers a cut record's start without its sequence number) */
const CUT_SUITE_CANDIDATES = [0xc02f, 0xc030, 0xc02b, 0xc02c, 0x009c, 0x009d, 0x009e, 0x009f];
const MAX_FAILURES = 20;

/**
 * Decryption of one connection: sits on both TlsStreams' protected records, finds the secrets by the
 * ClientHello's random, derives the keys once the ServerHello named the suite, and hands the
 * application data (and the cut start of an answer) to `onData`. Decrypted handshake messages and
 * alerts become facts of the TlsStreams: alerts with their description, the TLS 1.3 server certificate.
 */
export class TlsDecryptor {
  /** protected records seen, decrypted whole, decrypted only in part (cut), not decrypted */
  records = 0;
  decrypted = 0;
  partial = 0;
  failed = 0;
  readonly failures: DecryptFailure[] = [];
  /** every protected record (when `keepView`: the decrypted view, for tests and tools; off in analyze) */
  readonly view: DecryptedRecord[] = [];
  keepView = false;
  /** the key log source that held this connection's secrets, null when none did */
  source: string | null = null;
  /** why no keys could be set up (no key for the random, suite not supported, hellos not captured) */
  problem = '';
  private setUp = false;
  private keys: { c: DirectionKeys | null; s: DirectionKeys | null } = { c: null, s: null };
  private set: KeySet | undefined;
  private suite: Suite | null = null;
  private tls13 = false;
  /** TLS 1.3: the direction still uses its handshake keys */
  private handshakePhase = { c: true, s: true };
  /** decrypted handshake bytes not yet a whole message */
  private hs: { c: Uint8Array; s: Uint8Array } = { c: new Uint8Array(0), s: new Uint8Array(0) };
  private plainOff = { c: 0, s: 0 };
  /** records of the direction were lost (snaplen): its sequence number is uncertain */
  private lost = { c: false, s: false };
  /**
   * The ServerHello's cipher suite was cut by the snaplen: the TLS 1.2 AEAD suites, each tried on the
   * captured start of the first application data until one gives an HTTP request or status line
   */
  private candidates: { suite: Suite; keys: { client: DirectionKeys; server: DirectionKeys } }[] | null = null;

  constructor(
    private readonly keyLog: KeyLog,
    private readonly client: TlsStream,
    private readonly server: TlsStream,
    private readonly onData: (dir: 'c' | 's', data: Uint8Array, off: number, frame: number, time: number, missing: number) => void,
  ) {
    client.onProtected = (rec, body, endFrame, time) => this.record('c', rec, body, endFrame, time);
    server.onProtected = (rec, body, endFrame, time) => this.record('s', rec, body, endFrame, time);
  }

  private fail(dir: 'c' | 's', frame: number, why: string): void {
    this.failed++;
    if (this.failures.length < MAX_FAILURES) this.failures.push({ frame, dir, why });
  }

  private setup(): void {
    this.setUp = true;
    this.setupKeys();
    if (!this.keys.c && !this.keys.s && !this.candidates) {
      // nothing can decrypt this connection: its protected bodies need not be kept (records are still counted)
      this.client.protectedBodies = false;
      this.server.protectedBodies = false;
    }
  }

  private setupKeys(): void {
    // a hello the snaplen cut still shows its random (and maybe the suite)
    const ch = this.client.clientHello ?? this.client.cutHello;
    const full = this.server.serverHello;
    const cut = this.server.cutHello;
    const sh = full ?? (cut ? { random: cut.random, cipherSuite: cut.cipherSuite, legacyVersion: cut.version, selectedVersion: -1, encryptThenMac: false } : null);
    if (!ch) {
      this.problem = 'the ClientHello (its random, the key log index) is not in the capture';
      return;
    }
    this.set = this.keyLog.get(ch.random);
    if (!this.set) {
      this.problem = `no secret for this connection's client random ${ch.random.slice(0, 16)}... in the key log`;
      return;
    }
    this.source = this.set.source;
    if (!sh) {
      this.problem = 'the ServerHello (cipher suite, server random) is not in the capture';
      return;
    }
    if (sh.cipherSuite < 0 && this.set.masterSecret && sh.legacyVersion === 0x0303) {
      const master = this.set.masterSecret;
      this.candidates = CUT_SUITE_CANDIDATES.map((n) => ({ suite: SUITES[n]!, keys: tls12Keys(SUITES[n]!, 0x0303, master, Buffer.from(ch.random, 'hex'), Buffer.from(sh.random, 'hex'), false) }));
      this.problem = 'the cipher suite was cut by the snaplen with the ServerHello, and no AEAD suite tried fits';
      return;
    }
    const suite = SUITES[sh.cipherSuite];
    if (!suite) {
      this.problem = `cipher suite 0x${sh.cipherSuite.toString(16).padStart(4, '0')} is not one ssmcap decrypts`;
      return;
    }
    this.suite = suite;
    this.tls13 = sh.selectedVersion === 0x0304;
    const set = this.set;
    if (this.tls13) {
      this.keys.c = set.clientHandshake ? DirectionKeys.tls13(suite, set.clientHandshake) : null;
      this.keys.s = set.serverHandshake ? DirectionKeys.tls13(suite, set.serverHandshake) : null;
      if (!this.keys.c && set.clientTraffic0) this.toTraffic('c');
      if (!this.keys.s && set.serverTraffic0) this.toTraffic('s');
      if (!this.keys.c && !this.keys.s) this.problem = 'the key log has no TLS 1.3 traffic secrets for this connection';
      return;
    }
    if (!set.masterSecret) {
      this.problem = 'the key log has no CLIENT_RANDOM master secret for this TLS 1.2 connection';
      return;
    }
    const version = sh.legacyVersion;
    const k = tls12Keys(suite, version, set.masterSecret, Buffer.from(ch.random, 'hex'), Buffer.from(sh.random, 'hex'), sh.encryptThenMac);
    this.keys.c = k.client;
    this.keys.s = k.server;
  }

  private toTraffic(dir: 'c' | 's'): boolean {
    const secret = dir === 'c' ? this.set?.clientTraffic0 : this.set?.serverTraffic0;
    this.handshakePhase[dir] = false;
    this.keys[dir] = secret && this.suite ? DirectionKeys.tls13(this.suite, secret) : null;
    return !!this.keys[dir];
  }

  private record(dir: 'c' | 's', rec: TlsRecordInfo, body: Uint8Array | null, endFrame: number, time: number): void {
    this.records++;
    if (!this.setUp) this.setup();
    const view: DecryptedRecord = { dir, frame: rec.frame, endFrame, outerType: rec.type, type: -1, length: 0, handshakes: [], partial: false, ok: false };
    if (this.keepView && this.view.length < MAX_VIEW) this.view.push({ ...view, rec });
    const v = this.keepView && this.view.at(-1)?.rec === rec ? this.view.at(-1)! : view;
    if (this.candidates && body && rec.type === CT_APPDATA) this.trySuites(dir, rec, body);
    const keys = this.keys[dir];
    if (!keys && !this.candidates) {
      this.fail(dir, rec.frame, this.problem || 'no key for this direction');
      return;
    }
    if (rec.type === CT_OPAQUE || !body) {
      this.fail(dir, rec.frame, rec.type === CT_OPAQUE ? `${rec.length} bytes whose record headers the snaplen cut` : 'record body not captured');
      if (rec.type === CT_OPAQUE) this.lost[dir] = true;
      else if (keys) keys.seq++;
      return;
    }
    if (!keys) {
      this.fail(dir, rec.frame, this.problem || 'no key for this direction');
      return;
    }
    const seq0 = keys.seq;
    let plain = keys.decrypt(rec.type, rec.version, body, rec.length, rec.cut);
    if (!plain && !rec.cut && this.lost[dir]) {
      // records were lost before this one: its sequence number is a little further on
      for (let k = 1; k <= 16 && !plain; k++) {
        keys.seq = seq0 + BigInt(k);
        plain = keys.decrypt(rec.type, rec.version, body, rec.length, false);
      }
      if (plain) this.lost[dir] = false;
      else keys.seq = seq0 + 1n;
    }
    if (!plain && this.tls13 && this.handshakePhase[dir] && !rec.cut) {
      // the Finished that switches keys was not seen (or not decryptable): the application keys may fit
      const saved = keys;
      if (this.toTraffic(dir)) plain = this.keys[dir]!.decrypt(rec.type, rec.version, body, rec.length, false);
      if (!plain) {
        this.keys[dir] = saved;
        this.handshakePhase[dir] = true;
      }
    }
    if (!plain) {
      this.fail(dir, rec.frame, rec.cut ? `record of ${rec.length} bytes cut by the snaplen` : `record of ${rec.length} bytes does not authenticate (wrong key log, or records missing before it)`);
      return;
    }
    if (plain.partial) {
      this.partial++;
      this.fail(dir, rec.frame, `record of ${rec.length} bytes cut by the snaplen (its captured start deciphered, unauthenticated)`);
    } else this.decrypted++;
    v.type = plain.type;
    v.length = plain.data.length;
    v.partial = plain.partial;
    v.ok = !plain.partial;
    rec.decrypted = !plain.partial;
    if (this.tls13 && !plain.partial) rec.innerType = plain.type;
    const type = plain.partial && plain.type < 0 ? CT_APPDATA : plain.type;
    if (type === CT_APPDATA) {
      if (plain.partial && plain.type < 0 && !/^(HTTP\/|GET |POST |PUT |DELETE |HEAD |PATCH )/.test(Buffer.from(plain.data.subarray(0, 8)).toString('latin1'))) return;
      const missing = plain.partial ? Math.max(0, rec.length - plain.data.length - (this.tls13 ? 17 : 0)) : 0;
      this.onData(dir, plain.data, this.plainOff[dir], endFrame, time, missing);
      this.plainOff[dir] += plain.data.length + missing;
    } else if (type === CT_ALERT && plain.data.length >= 2 && !plain.partial) {
      const level = plain.data[0]!;
      const description = plain.data[1]!;
      v.alert = { level, description };
      const stream = dir === 'c' ? this.client : this.server;
      const info = { frame: rec.frame, time: rec.time, level, description, name: ALERTS[description] ?? `alert_${description}`, encrypted: false, decrypted: true };
      const known = stream.alerts.find((a) => a.encrypted && a.frame === rec.frame);
      if (known) Object.assign(known, info);
      else stream.alerts.push(info);
    } else if (type === CT_HANDSHAKE && !plain.partial) {
      this.handshake(dir, plain.data, rec, v);
    }
  }

  /** the suite the cut ServerHello hid: the one whose keys make this record's start a request or status line */
  private trySuites(dir: 'c' | 's', rec: TlsRecordInfo, body: Uint8Array): void {
    for (const c of this.candidates!) {
      const k = dir === 'c' ? c.keys.client : c.keys.server;
      const p = k.decrypt(rec.type, rec.version, body, rec.length, true);
      if (!p || p.data.length < 8) continue;
      const text = Buffer.from(p.data.subarray(0, 16)).toString('latin1');
      if (!(dir === 'c' ? /^(GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS) \//.test(text) : /^HTTP\/1\.[01] \d{3} /.test(text))) continue;
      this.suite = c.suite;
      this.keys = { c: c.keys.client, s: c.keys.server };
      this.candidates = null;
      this.problem = '';
      // the handshake records before were lost or cut: sequence numbers are uncertain on both sides
      this.lost = { c: true, s: true };
      return;
    }
  }

  private handshake(dir: 'c' | 's', data: Uint8Array, rec: TlsRecordInfo, view: DecryptedRecord): void {
    let buf = this.hs[dir].length ? Buffer.concat([this.hs[dir], data]) : data;
    let p = 0;
    let switchKeys = false;
    let update = false;
    while (buf.length - p >= 4) {
      const t = buf[p]!;
      const l = (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
      if (buf.length - p - 4 < l) break;
      const m = buf.subarray(p + 4, p + 4 + l);
      view.handshakes.push(t);
      if (rec.handshakes.length === 0) rec.handshakes = [t];
      else rec.handshakes.push(t);
      if (t === HS.finished && this.tls13 && this.handshakePhase[dir]) switchKeys = true;
      if (t === HS.key_update && this.tls13) update = true;
      if (t === HS.certificate && this.tls13) {
        const stream = dir === 'c' ? this.client : this.server;
        try {
          stream.certificates = parseCertificateList(m, true);
          stream.certificateFrame = rec.frame;
        } catch {
          // a malformed chain: its type is recorded
        }
      }
      p += 4 + l;
    }
    buf = buf.subarray(p);
    this.hs[dir] = buf.length > 256 * 1024 ? new Uint8Array(0) : Uint8Array.from(buf);
    if (switchKeys) this.toTraffic(dir);
    else if (update) this.keys[dir]?.keyUpdate();
  }

  /** the facts for the report */
  summary(): { records: number; decrypted: number; partial: number; failed: number; keylog: string | null; problem: string | null; failures: DecryptFailure[] } {
    return { records: this.records, decrypted: this.decrypted, partial: this.partial, failed: this.failed, keylog: this.source, problem: this.problem || null, failures: this.failures.slice(0, 5) };
  }
}
