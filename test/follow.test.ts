/**
 * `ssmcap analyze --follow`: a capture written in pieces while ssmcap reads it, cut mid-record between the
 * pieces (as tcpdump -w without -U leaves it), reads to the same report as the whole file; the run ends after
 * --idle seconds without growth; a record still cut when it ends is reported as such.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli } from './helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-follow-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** byte offsets of the pcap records (after the 24-byte header), little-endian files */
function recordOffsets(b: Buffer): number[] {
  const out: number[] = [];
  for (let o = 24; o + 16 <= b.length; o += 16 + b.readUInt32LE(o + 8)) out.push(o);
  return out;
}

function follow(file: string, args: string[]): { done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, 'analyze', '--follow', file, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return { done: new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr }))) };
}

describe('analyze --follow', () => {
  // the three at once: each mostly waits (its pieces 300 ms apart, then --idle 1)
  it.concurrent.each(['a03-auth-403-invalid-client-tls12.pcap', 'a05-port-closed-rst.pcap', 'a01-healthy-tls12.pcap'])('%s written in pieces, cut mid-record, reads as the whole file', async (name) => {
    const src = path.join(ROOT, 'captures', name);
    const whole = fs.readFileSync(src);
    const offs = recordOffsets(whole);
    expect(offs.length).toBeGreaterThan(1);
    // cut points: inside the file header, inside a record header, inside a record's data, at a record boundary
    const cuts = [10, offs[1]! + 7, offs[Math.floor(offs.length / 2)]! + 20, offs[offs.length - 1]!].filter((c, i, a) => c < whole.length && (i === 0 || c > a[i - 1]!));
    const file = path.join(dir, name);
    fs.writeFileSync(file, whole.subarray(0, cuts[0]));
    const run = follow(file, ['--idle', '1', '--format', 'json']);
    let at = cuts[0]!;
    for (const c of [...cuts.slice(1), whole.length]) {
      await sleep(300);
      fs.appendFileSync(file, whole.subarray(at, c));
      at = c;
    }
    // the file is whole now: its plain reading runs while the follower waits out --idle
    const [r, plain] = await Promise.all([run.done, runCli(['analyze', file, '--format', 'json'])]);
    expect(r.stdout.length).toBeGreaterThan(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(plain.stdout));
    expect(r.code).toBe(plain.code);
    // each connection's verdict on stderr as it was judged
    const report = JSON.parse(plain.stdout);
    const lines = r.stderr.split('\n').filter((l) => / -> .*: [a-z]+\/[a-z-]+/.test(l));
    expect(lines).toHaveLength(report.connections.length);
  }, 30_000);

  it('stops after --idle with a record still cut: the one-line error, and what was read', async () => {
    const whole = fs.readFileSync(path.join(ROOT, 'captures', 'a05-port-closed-rst.pcap'));
    const offs = recordOffsets(whole);
    const file = path.join(dir, 'cut.pcap');
    fs.writeFileSync(file, whole.subarray(0, offs[1]! + 30));
    const t0 = Date.now();
    const r = await follow(file, ['--idle', '1', '--format', 'json']).done;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(r.stderr).toMatch(/cut\.pcap: byte \d+: file ends inside a record/);
    const report = JSON.parse(r.stdout);
    expect(report.inputs[0].packets).toBe(1);
  }, 30_000);

  it('takes one file only', async () => {
    const r = await runCli(['analyze', '--follow', path.join(ROOT, 'captures')]);
    expect(r.code).toBe(2);
  });

  it('keeps redaction when --show-secrets is refused (output not a terminal), reads the key log beside the file, refuses --log', async () => {
    const a12 = path.join(ROOT, 'captures', 'a12-plain-http-to-tls-port.pcap');
    const a03 = path.join(ROOT, 'captures', 'a03-auth-403-invalid-client-tls12.pcap');
    // each of the first two waits --idle: the three at once
    const [r, k, l] = await Promise.all([
      runCli(['analyze', '--follow', '--idle', '1', '--show-secrets', '--format', 'json', a12]),
      runCli(['analyze', '--follow', '--idle', '1', '--format', 'json', a03]),
      runCli(['analyze', '--follow', a03, '--log', a03]),
    ]);
    expect(r.stderr).toMatch(/--show-secrets refused/);
    expect(r.stdout).toContain('client_secret=***');
    expect(r.stdout).not.toMatch(/client_secret=[^*&"]/);
    expect(JSON.parse(k.stdout).reason).toBe('invalid-client');
    expect(l.code).toBe(2);
  }, 30_000);
});
