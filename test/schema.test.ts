/**
 * The JSON Schemas in schema/ against what the real CLI prints: `analyze --format json` and every
 * `--format ndjson` line, for every bundled capture and for tcpdump text, for directories, with logs
 * (--log), with key logs (beside the capture and --keylog) and for a capture whose server never answered
 * ARP. The schemas are strict (required fields, no unknown ones, enums for verdicts and reasons): a
 * renamed field fails here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/diagnose/analyze.js';
import { ROOT, runCli } from './helpers/cli.js';
import { analyzeJsonHere } from './helpers/report.js';
import { ngxStamp, sysStamp, TOKEN_URI, vmStamp } from './helpers/log-stamps.js';

const dir = path.join(ROOT, 'captures');
const captures = fs.readdirSync(dir).filter((f) => f.endsWith('.pcap'));
const texts = ['a05-port-closed-rst.pcap.tcpdump.txt', 'a17-proxy-tunnel-auth-403.pcap.tcpdump.txt', 'a23-routed-icmp-host-unreachable.pcap.tcpdump.txt'];

const reportSchema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'report.schema.json'), 'utf8'));
const ndjsonSchema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'ndjson.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addSchema(reportSchema);
const validateReport = ajv.compile(reportSchema.$id ? { $ref: reportSchema.$id } : reportSchema);
const validateLine = ajv.compile(ndjsonSchema);

const errors = (v: { errors?: unknown }) => JSON.stringify(v.errors, null, 1);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-schema-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Doc {
  verdict: string;
  connections: { first_frame: number; last_frame: number; ladder?: { frame: number }[] }[];
  servers: { verdict: string; reason: string }[];
}

function checkReport(doc: Doc): void {
  const ok = validateReport(doc);
  expect(ok, errors(validateReport)).toBe(true);
  for (const c of doc.connections) {
    // every listed connection has its ladder, inside its own frames
    expect(c.ladder?.length).toBeGreaterThan(0);
    for (const s of c.ladder!) {
      expect(s.frame).toBeGreaterThanOrEqual(c.first_frame);
      expect(s.frame).toBeLessThanOrEqual(c.last_frame);
    }
  }
}

/** `analyze FILE --format json` made in this process (the CLI's own output is checked on the directory, --log, --keylog and --server below) */
async function jsonHere(file: string): Promise<string> {
  const out = await analyzeJsonHere([file]);
  expect(JSON.parse(out).inputs[0].error).toBeNull();
  return out;
}

describe('analyze --format json matches schema/report.schema.json', () => {
  it.each([...captures, ...texts])('%s', async (name) => {
    checkReport(JSON.parse(await jsonHere(path.join(dir, name))));
  });

  it('the document made in this process is the one the CLI prints', async () => {
    for (const files of [[path.join(dir, 'a20-retries-403-with-background.pcap')], [path.join(dir, 'a03-auth-403-invalid-client-tls12.pcap'), path.join(dir, texts[1]!)]]) {
      const r = await runCli(['analyze', ...files, '--format', 'json']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(await analyzeJsonHere(files));
    }
  });

  it('a whole directory in one document: each input with its directory, the files skipped', async () => {
    const r = await runCli(['analyze', dir, '--format', 'json']);
    const doc = JSON.parse(r.stdout) as Doc & { inputs: { path: string; directory?: string; path_in_directory?: string }[]; skipped?: { files: number; text_beside_capture: unknown[] } };
    checkReport(doc);
    expect(doc.servers.length).toBeGreaterThanOrEqual(captures.length);
    for (const i of doc.inputs) {
      expect(i.directory).toBe(dir);
      expect(i.path_in_directory).toBe(path.basename(i.path));
    }
    // key logs and labels.json are no captures; every tcpdump text lies beside its capture
    const other = fs.readdirSync(dir).filter((f) => !f.endsWith('.pcap') && !f.endsWith('.tcpdump.txt'));
    expect(doc.skipped).toEqual({ files: other.length, text_beside_capture: expect.any(Array) });
    expect(doc.skipped!.text_beside_capture).toHaveLength(fs.readdirSync(dir).filter((f) => f.endsWith('.tcpdump.txt')).length);
  });

  it('an unreadable input is in the document with its error', async () => {
    const bad = path.join(ROOT, 'test', 'output', 'schema-bad.pcap');
    fs.mkdirSync(path.dirname(bad), { recursive: true });
    const good = fs.readFileSync(path.join(dir, 'a05-port-closed-rst.pcap'));
    fs.writeFileSync(bad, good.subarray(0, good.length - 10));
    const r = await runCli(['analyze', bad, '--format', 'json']);
    const doc = JSON.parse(r.stdout);
    expect(doc.inputs[0].error.code).toBe('truncated');
    checkReport(doc);
  });
});

describe.concurrent('analyze --format ndjson: each line matches schema/ndjson.schema.json', () => {
  // one run over every capture (and one over the tcpdump texts): each input's connections, servers, and the summary
  it.each([
    ['every capture in captures/', [dir], captures.length],
    ['tcpdump text', texts.map((t) => path.join(dir, t)), texts.length],
  ] as const)('%s', async (_what, inputs, count) => {
    const r = await runCli(['analyze', ...inputs, '--format', 'ndjson']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    for (const l of lines) expect(validateLine(l), `${l.type}: ${errors(validateLine)}`).toBe(true);
    expect(lines.at(-1).type).toBe('summary');
    expect(lines.filter((l) => l.type === 'summary')).toHaveLength(1);
    expect(new Set(lines.filter((l) => l.type === 'server').map((l) => l.input)).size).toBe(count);
    expect(lines.filter((l) => l.type === 'connection').every((l) => l.ladder.length > 0)).toBe(true);
    // the directory's skipped files are in the summary; files named on the command line skip nothing
    if (inputs[0] === dir) expect(lines.at(-1).skipped.files).toBeGreaterThan(0);
    else expect(lines.at(-1).skipped).toBeUndefined();
  });
});

/** run the CLI with --format json: the document, validated */
async function jsonRun(args: string[]): Promise<{ doc: any; stderr: string }> {
  const r = await runCli(['analyze', ...args, '--format', 'json']);
  const doc = JSON.parse(r.stdout);
  checkReport(doc);
  return { doc, stderr: r.stderr };
}

/** run the CLI with --format ndjson: every line validated, the summary last */
async function ndjsonRun(args: string[]): Promise<any[]> {
  const r = await runCli(['analyze', ...args, '--format', 'ndjson']);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  for (const l of lines) expect(validateLine(l), `${l.type}: ${errors(validateLine)}`).toBe(true);
  expect(lines.at(-1).type).toBe('summary');
  return lines;
}

// ---- logs whose times align with a capture's one connection (the formats as test/logs.test.ts builds them)
const a19 = path.join(dir, 'a19-auth-403-snaplen128.pcap');
const FIX = path.join(ROOT, 'test', 'fixtures', 'logs');

let logsMade: Promise<{ vmanage: string; backend: string }> | undefined;
/** a vManage log (gzip, in a directory) of the refused token call at a19's connection, and an SSM syslog of nginx failing its backend then */
function a19Logs(): Promise<{ vmanage: string; backend: string }> {
  logsMade ??= (async () => {
    const c = (await analyzeCapture(a19)).connections[0]!;
    const start = Number(c.start);
    const end = start + c.duration;
    const vm = path.join(tmp, 'vmanage');
    fs.mkdirSync(vm, { recursive: true });
    const t = end - 0.03;
    const L = (dt: number, lvl: string, cls: string, msg: string) => `${vmStamp(t + dt)} ${lvl.padEnd(5)} [vm1] [${cls}] (default task-7) |default| ${msg}`;
    const lines = [
      L(-0.01, 'INFO', 'SmartLicensingIntegrationManager', 'user is using in On Prem mode'),
      L(-0.009, 'INFO', 'SmartLicensingUtil', 'intializing client Map {clientUrl=127.0.0.55, client_secret=S3cr3tS3cr3tValue_abcdef, client_id=AbCdEfGhIjKlMnOp}'),
      L(-0.005, 'INFO', 'SmartLicensingUtil', `URL ${TOKEN_URI}`),
      L(0.02, 'ERROR', 'RestAPIClient', `Failed to process POST request uri: ${TOKEN_URI} . Code: 403 Message: {"error":"invalid_client","error_message":"Grant not found."}`),
      L(0.021, 'ERROR', 'SmartLicensingUtil', "Failed to authenticate user - 'admin'."),
    ];
    fs.writeFileSync(path.join(vm, 'vmanage-server.log.1.gz'), gzipSync(lines.join('\n') + '\n'));
    const req = 'request: "POST /backend/oauth/token?client_id=AbCdEfGhIjKlMnOp&client_secret=S3cr3tS3cr3tValue_abcdef HTTP/1.1", upstream: "http://127.0.0.1:3000/oauth/token", host: "127.0.0.55:8443"';
    const backend = path.join(tmp, 'messages');
    fs.writeFileSync(
      backend,
      [
        `${sysStamp(start)} ssm 504f06c0d581: 2026/11/22 17:43:55 [error] 47#47: *1576 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.2, server: , ${req}`,
        `${sysStamp(end)} ssm 504f06c0d581: 127.0.0.2 - - [${ngxStamp(end)}] "POST /backend/oauth/token HTTP/1.1" 502 157 "-" "Apache-HttpClient/4.5.11 (Java/11.0.7)" "-"`,
      ].join('\n') + '\n',
    );
    return { vmanage: vm, backend };
  })();
  return logsMade;
}
const seedLogs = ['--log', path.join(FIX, 'seed-pt-vmanage-server.log'), '--log', path.join(FIX, 'seed-pt-ssm-messages.log')];

// (the CLI's runs of one describe below run at once: each is its own process)
describe.concurrent('--log: logs, timeline, log findings and the log lines of connections and servers match the schemas', () => {
  it('json: every log field present and valid', async () => {
    const { vmanage } = await a19Logs();
    const { doc, stderr } = await jsonRun([a19, '--log', vmanage, ...seedLogs]);
    expect(stderr).toBe('');
    expect(doc.reason).toBe('invalid-client');
    expect(doc.logs).toHaveLength(3);
    expect(doc.logs[0]).toMatchObject({ kind: 'vmanage-server', compression: 'gzip', offset_seconds: 0 });
    expect(doc.connections[0].log_events.length).toBeGreaterThan(0);
    expect(doc.servers[0].log_events.length).toBeGreaterThan(0);
    expect(doc.servers[0].evidence.some((e: { log?: unknown }) => e.log)).toBe(true);
    expect(new Set(doc.timeline.map((t: { source: string }) => t.source))).toEqual(new Set(['capture', 'log']));
    // the seed's logs are of 2023: their errors are findings of their own, and their server is not the capture's
    expect(doc.log_findings.length).toBeGreaterThan(0);
    expect(doc.log_notes.length).toBeGreaterThan(0);
  });

  it('ndjson: log, log_event, log_finding lines, the connection again (provisional: false) and the summary with its logs', async () => {
    const { vmanage } = await a19Logs();
    const lines = await ndjsonRun([a19, '--log', vmanage, ...seedLogs]);
    const types = new Set(lines.map((l) => l.type));
    for (const t of ['connection', 'log', 'log_event', 'server', 'log_finding', 'summary']) expect(types.has(t), t).toBe(true);
    expect(lines.filter((l) => l.type === 'log')).toHaveLength(3);
    const final = lines.find((l) => l.type === 'connection' && l.provisional === false);
    expect(final.reason).toBe('invalid-client');
    expect(final.log_events.length).toBeGreaterThan(0);
    expect(lines.at(-1).logs).toHaveLength(3);
    // vManage's logged settings against the capture reach the stream too, in its summary
    expect(lines.at(-1).log_notes.length).toBeGreaterThan(0);
  });

  it("SSM's nginx failing its backend: ssm-backend-failed in json and ndjson", async () => {
    const { backend } = await a19Logs();
    const { doc } = await jsonRun([a19, '--log', backend]);
    expect(doc.servers[0]).toMatchObject({ verdict: 'application', reason: 'ssm-backend-failed' });
    expect(doc.connections[0].reason).toBe('ssm-backend-failed');
    const lines = await ndjsonRun([a19, '--log', backend]);
    expect(lines.find((l) => l.type === 'server').reason).toBe('ssm-backend-failed');
  });

  it('logs alone, no capture: the verdict from the logs', async () => {
    const { doc } = await jsonRun(seedLogs);
    expect(doc.inputs).toEqual([]);
    expect(doc.log_findings.length).toBeGreaterThan(0);
    await ndjsonRun(seedLogs);
  });
});

describe.concurrent('key logs: tls.decrypted and the input keylog match the schemas', () => {
  it('a capture with its .keys beside it: decrypted', async () => {
    const a03 = path.join(dir, 'a03-auth-403-invalid-client-tls12.pcap');
    const { doc } = await jsonRun([a03]);
    const d = doc.connections[0].tls.decrypted;
    expect(d.decrypted).toBeGreaterThan(0);
    expect(d.keylog).toMatch(/beside the capture/);
    expect(doc.connections[0].http.some((h: { decrypted?: boolean }) => h.decrypted)).toBe(true);
    expect(doc.inputs[0].keylog).toMatchObject({ connections: 1, decrypted_connections: 1, problems: [] });
    const lines = await ndjsonRun([a03]);
    expect(lines.find((l) => l.type === 'connection').tls.decrypted.decrypted).toBeGreaterThan(0);
    expect(lines.at(-1).inputs[0].keylog.sources).toHaveLength(1);
  });

  it('--keylog with lines that do not parse, a missing file, and no secret for the connection', async () => {
    const keys = path.join(tmp, 'wrong.keys');
    fs.writeFileSync(keys, fs.readFileSync(path.join(dir, 'a01-healthy-tls12.pcap.keys'), 'utf8') + 'CLIENT_RANDOM zz not-hex\ngarbage\n');
    const args = [path.join(dir, 'a21-routed-healthy-tls12-java.pcap'), '--keylog', keys, '--keylog', path.join(tmp, 'none.keys')];
    const { doc, stderr } = await jsonRun(args);
    expect(stderr).toMatch(/wrong\.keys: line \d+: /);
    expect(doc.inputs[0].keylog.problems.map((p: { line: number }) => p.line)).toEqual([expect.any(Number), expect.any(Number), 0]);
    const d = doc.connections[0].tls.decrypted;
    expect(d).toMatchObject({ decrypted: 0, keylog: null, problem: expect.stringMatching(/no secret/) });
    expect(d.failures.length).toBeGreaterThan(0);
    await ndjsonRun(args);
  });
});

describe.concurrent('unanswered neighbors: a server that never answered ARP', () => {
  const r08 = path.join(ROOT, 'test', 'recordings', 'r08-no-host-no-response.pcap');
  it('no TCP to the port, the ARP requests listed and (inferred) the finding; --server names it', async () => {
    const { doc } = await jsonRun([r08]);
    expect(doc.servers).toEqual([expect.objectContaining({ address: '10.99.0.3', reason: 'no-response' })]);
    expect(doc.inputs[0].unanswered_neighbors[0]).toMatchObject({ address: '10.99.0.3', protocol: 'arp' });
    expect((await ndjsonRun([r08])).at(-1).inputs[0].unanswered_neighbors.length).toBeGreaterThan(0);
    const named = await jsonRun([r08, '--server', '10.99.0.3']);
    expect(named.doc.servers[0]).toMatchObject({ address: '10.99.0.3', reason: 'no-response', connection_count: 0 });
    const lines = await ndjsonRun([r08, '--server', '10.99.0.3']);
    expect(lines.find((l) => l.type === 'server').reason).toBe('no-response');
  });
});

describe('the schemas are strict enough to catch a typo', () => {
  it('rejects a renamed field, an unknown reason, a missing ladder label, an unknown line type', async () => {
    const r = { stdout: await jsonHere(path.join(dir, 'a05-port-closed-rst.pcap')) };
    const doc = JSON.parse(r.stdout);
    expect(validateReport(doc)).toBe(true);
    const clone = () => JSON.parse(r.stdout);
    const renamed = clone();
    renamed.servers[0].verdikt = renamed.servers[0].verdict;
    delete renamed.servers[0].verdict;
    expect(validateReport(renamed)).toBe(false);
    const reason = clone();
    reason.connections[0].reason = 'refused-ish';
    expect(validateReport(reason)).toBe(false);
    const label = clone();
    delete label.connections[0].ladder[0].label;
    expect(validateReport(label)).toBe(false);
    const extra = clone();
    extra.connections[0].conn_stat = 'REJ';
    expect(validateReport(extra)).toBe(false);
    expect(validateLine({ type: 'conection' })).toBe(false);
    expect(validateLine({ type: 'server', ...doc.servers[0], hint: undefined })).toBe(false);
  });

  it('rejects a broken log, key log or neighbor field, and log fields without the rest', async () => {
    const { vmanage } = await a19Logs();
    const r = await runCli(['analyze', a19, '--log', vmanage, '--format', 'json']);
    const doc = JSON.parse(r.stdout);
    expect(validateReport(doc), errors(validateReport)).toBe(true);
    const broken = (f: (d: any) => void) => {
      const d = JSON.parse(r.stdout);
      f(d);
      return validateReport(d);
    };
    expect(broken((d) => (d.connections[0].log_events[0].kind = 'vmanage-sneeze'))).toBe(false);
    expect(broken((d) => (d.servers[0].log_events[0].time = 'yesterday'))).toBe(false);
    expect(broken((d) => delete d.servers[0].evidence.find((e: { log?: unknown }) => e.log).log.line)).toBe(false);
    expect(broken((d) => (d.timeline.find((t: { source: string }) => t.source === 'capture').source = 'log'))).toBe(false);
    expect(broken((d) => delete d.timeline)).toBe(false);
    expect(broken((d) => (d.logs[0].offset = d.logs[0].offset_seconds))).toBe(false);
    expect(broken((d) => delete d.inputs[0].unanswered_neighbors)).toBe(false);
    expect(broken((d) => (d.inputs[0].directory = 'captures'))).toBe(false);
    expect(broken((d) => (d.servers[0].reason = 'ssm-backend-broken'))).toBe(false);
    expect(broken((d) => (d.connections[0].tls.decrypted = { records: 1, decrypted: 1, partial: 0, failed: 0, keylog: null, problem: null, failures: [], key: 'x' }))).toBe(false);
    expect(broken((d) => (d.inputs[0].keylog = { sources: [], problems: [], connections: 0 }))).toBe(false);
    expect(broken((d) => (d.inputs[0].unanswered_neighbors = [{ address: '10.0.0.1', asker: '10.0.0.2', requests: 3, first_frame: 1, last_frame: 3, duration: 1, protocol: 'dhcp' }]))).toBe(false);
    expect(broken((d) => (d.checksums[0].folded = -1))).toBe(false);
    // the fields the broken ones stand for are valid as the CLI prints them
    expect(broken((d) => (d.checksums[0].folded = 2))).toBe(true);
    // NDJSON: a final connection line without its log lines, a log_event of the capture, a log line of an unknown kind
    const line = { type: 'connection', provisional: false, ...doc.connections[0] };
    expect(validateLine(line), errors(validateLine)).toBe(true);
    expect(validateLine({ ...line, log_events: undefined })).toBe(false);
    expect(validateLine({ type: 'log_event', ...doc.timeline.find((t: { source: string }) => t.source === 'capture') })).toBe(false);
    expect(validateLine({ type: 'log_event', ...doc.timeline.find((t: { source: string }) => t.source === 'log') })).toBe(true);
    expect(validateLine({ type: 'log', ...doc.logs[0] })).toBe(true);
    expect(validateLine({ type: 'log', ...doc.logs[0], kind: 'apache' })).toBe(false);
  });
});
