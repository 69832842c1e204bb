/**
 * The JSON Schemas in schema/ against what the real CLI prints: `analyze --format json` and every
 * `--format ndjson` line, for every bundled capture and for tcpdump text. The schemas are strict
 * (required fields, no unknown ones, enums for verdicts and reasons): a renamed field fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';

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

describe('analyze --format json matches schema/report.schema.json', () => {
  it.each([...captures, ...texts])('%s', async (name) => {
    const r = await runCli(['analyze', path.join(dir, name), '--format', 'json']);
    expect(r.stderr).toBe('');
    checkReport(JSON.parse(r.stdout));
  });

  it('a whole directory in one document', async () => {
    const r = await runCli(['analyze', dir, '--format', 'json']);
    const doc = JSON.parse(r.stdout) as Doc;
    checkReport(doc);
    expect(doc.servers.length).toBeGreaterThanOrEqual(captures.length);
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

describe('analyze --format ndjson: each line matches schema/ndjson.schema.json', () => {
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
  });
});

describe('the schemas are strict enough to catch a typo', () => {
  it('rejects a renamed field, an unknown reason, a missing ladder label, an unknown line type', async () => {
    const r = await runCli(['analyze', path.join(dir, 'a05-port-closed-rst.pcap'), '--format', 'json']);
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
});
