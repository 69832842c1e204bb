/**
 * NSS key log files (what SSLKEYLOGFILE, Java agents and pcapng Decryption Secrets Blocks hold): one
 * `LABEL <client_random hex> <secret hex>` per line. TLS 1.2 and earlier: CLIENT_RANDOM (the 48-byte
 * master secret). TLS 1.3: the handshake and first application traffic secrets of each side. Comments
 * (#) and blank lines are skipped, labels this stage does not use (EXPORTER_SECRET, EARLY_TRAFFIC_SECRET,
 * RSA ...) are counted and skipped, and lines that do not parse are reported with their line number.
 * Secrets are keyed by the client random (hex, lower case).
 */
import fs from 'node:fs';

export interface KeySet {
  /** TLS 1.2 and earlier: the master secret */
  masterSecret?: Uint8Array;
  clientHandshake?: Uint8Array;
  serverHandshake?: Uint8Array;
  clientTraffic0?: Uint8Array;
  serverTraffic0?: Uint8Array;
  /** where the secrets came from (file name, `FILE (Decryption Secrets Block)`) */
  source: string;
}

export interface KeyLogProblem {
  source: string;
  line: number;
  text: string;
  message: string;
}

const LABELS: Record<string, keyof Omit<KeySet, 'source'>> = {
  CLIENT_RANDOM: 'masterSecret',
  CLIENT_HANDSHAKE_TRAFFIC_SECRET: 'clientHandshake',
  SERVER_HANDSHAKE_TRAFFIC_SECRET: 'serverHandshake',
  CLIENT_TRAFFIC_SECRET_0: 'clientTraffic0',
  SERVER_TRAFFIC_SECRET_0: 'serverTraffic0',
};
/** labels of the NSS format this stage does not need: skipped without a word */
const KNOWN_UNUSED = new Set(['EXPORTER_SECRET', 'CLIENT_EARLY_TRAFFIC_SECRET', 'EARLY_EXPORTER_SECRET', 'RSA', 'PMS_CLIENT_RANDOM']);
const HEX = /^[0-9a-fA-F]+$/;

export class KeyLog {
  private readonly byRandom = new Map<string, KeySet>();
  readonly problems: KeyLogProblem[] = [];
  /** every source added, in order, with the number of secrets it gave */
  readonly sources: { source: string; secrets: number }[] = [];
  /** lines with a label this stage does not use */
  skipped = 0;

  get size(): number {
    return this.byRandom.size;
  }

  /** the secrets for a client random (32 bytes, or its hex) */
  get(clientRandom: Uint8Array | string): KeySet | undefined {
    const k = typeof clientRandom === 'string' ? clientRandom.toLowerCase() : Buffer.from(clientRandom).toString('hex');
    return this.byRandom.get(k);
  }

  /** parse key log text; returns the number of secrets taken */
  addText(text: string, source: string): number {
    let n = 0;
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      const parts = line.split(/\s+/);
      const label = parts[0]!;
      const field = LABELS[label];
      if (!field) {
        if (KNOWN_UNUSED.has(label) || /^[A-Z][A-Z0-9_]*$/.test(label)) this.skipped++;
        // a label is quoted only when it looks like one: a wrapped line's first word may be secret hex
        else this.problem(source, i + 1, line, /^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(label) && !/[0-9a-f]{16}/i.test(label) ? `not a key log line (label "${label}")` : 'not a key log line');
        continue;
      }
      if (parts.length !== 3) {
        this.problem(source, i + 1, line, `${label} needs a client random and a secret (${parts.length - 1} field${parts.length === 2 ? '' : 's'} found)`);
        continue;
      }
      const [, random, secret] = parts as [string, string, string];
      if (random.length !== 64 || !HEX.test(random)) {
        this.problem(source, i + 1, line, `${label}: the client random must be 64 hex digits`);
        continue;
      }
      const want = field === 'masterSecret' ? [96] : [64, 96];
      if (!want.includes(secret.length) || !HEX.test(secret)) {
        this.problem(source, i + 1, line, `${label}: the secret must be ${field === 'masterSecret' ? '96 hex digits (48 bytes)' : '64 or 96 hex digits'}`);
        continue;
      }
      const key = random.toLowerCase();
      let set = this.byRandom.get(key);
      if (!set) this.byRandom.set(key, (set = { source }));
      set[field] = Buffer.from(secret, 'hex');
      n++;
    }
    this.sources.push({ source, secrets: n });
    return n;
  }

  /** read a key log file; a file that cannot be read is a problem of line 0 */
  addFile(path: string, source = path): number {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (e) {
      this.problem(source, 0, '', `cannot read key log: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return 0;
    }
    return this.addText(text, source);
  }

  private problem(source: string, line: number, text: string, message: string): void {
    // the secret itself is never repeated in a message
    const first = text.split(/\s/)[0] ?? '';
    if (this.problems.length < 100) this.problems.push({ source, line, text: /^[A-Z][A-Z0-9_]{0,39}$/.test(first) ? first : '', message });
  }
}

/** the pcapng Decryption Secrets Block type of an NSS key log ('TLSK') */
export const DSB_TLS_KEYLOG = 0x544c534b;
