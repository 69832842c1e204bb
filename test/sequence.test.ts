/**
 * One server, several syncs in one capture (a capture left running across the 24 h cycle): what counts is
 * how it ends. Failures then a success are retries that got through (healthy, the failures said); a
 * success then failures is a sync that stopped working (the failure is the finding, the success said).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture, readCapture } from '../src/index.js';
import { writePcap, type PcapRecord } from './helpers/capture-writer.js';
import { ROOT } from './helpers/cli.js';
import { bytesOf } from './helpers/frames.js';

async function records(file: string): Promise<PcapRecord[]> {
  const out: PcapRecord[] = [];
  await readCapture(path.join(ROOT, file.startsWith('r') ? 'test/recordings' : 'captures', file), (f) => out.push({ sec: f.tsSec, frac: Math.floor(f.tsNsec / 1000), data: f.bytes(), origLen: f.origLen }));
  return out;
}

/** the captures one after the other, each a day after the one before */
async function oneAfterAnother(...files: string[]) {
  const all: PcapRecord[] = [];
  for (const f of files) {
    const rs = await records(f);
    const shift = all.length ? all[all.length - 1]!.sec + 86400 - rs[0]!.sec : 0;
    for (const r of rs) all.push({ ...r, sec: r.sec + shift });
  }
  return analyzeCapture(bytesOf(writePcap({ linkType: 1 }, all).bytes));
}

describe('several syncs to one server in one capture', () => {
  it('refused, then a sync that works: healthy, the refusal said', async () => {
    const a = await oneAfterAnother('a05-port-closed-rst.pcap', 'a01-healthy-tls12.pcap');
    expect([a.servers[0]!.verdict, a.servers[0]!.reason]).toEqual(['healthy', 'ok']);
    expect(a.servers[0]!.summary).toMatch(/failed first: refused/);
  });

  it('a sync that works, then refused: transport/refused, the earlier success said', async () => {
    const a = await oneAfterAnother('a01-healthy-tls12.pcap', 'a05-port-closed-rst.pcap');
    expect([a.servers[0]!.verdict, a.servers[0]!.reason]).toEqual(['transport', 'refused']);
    expect(a.servers[0]!.summary).toMatch(/worked before/);
  });

  it('a sync that works, then the token call rejected (payload cut): the rejection', async () => {
    const a = await oneAfterAnother('a02-healthy-tls13.pcap', 'a19-auth-403-snaplen128.pcap');
    expect(a.servers[0]!.verdict).toBe('application');
  });

  it('a sync that works, then a capture cut short: still healthy (nothing failed)', async () => {
    const rs = await records('a01-healthy-tls12.pcap');
    const again = (await records('a02-healthy-tls13.pcap')).slice(0, 6).map((r) => ({ ...r, sec: r.sec + 86400 }));
    const a = await analyzeCapture(bytesOf(writePcap({ linkType: 1 }, [...rs, ...again]).bytes));
    expect(a.servers[0]!.verdict).toBe('healthy');
  });

  // a client that opens a connection per call: each connection carries one request and its answer
  it('per-call syncs that work, then the token call retried and refused: the refusal (the last sync)', async () => {
    const a = await oneAfterAnother('r20-py-per-call-healthy-tls13-s128.pcap', 'r21-py-403-retried-tls13-s128.pcap');
    expect([a.servers[0]!.verdict, a.servers[0]!.reason]).toEqual(['application', 'auth-rejected']);
    expect(a.servers[0]!.summary).toMatch(/last sync/);
  });

  it('the token call refused, then per-call syncs that work: healthy (the last sync)', async () => {
    const a = await oneAfterAnother('r21-py-403-retried-tls13-s128.pcap', 'r20-py-per-call-healthy-tls13-s128.pcap');
    expect([a.servers[0]!.verdict, a.servers[0]!.reason]).toEqual(['healthy', 'ok']);
  });
});
