/**
 * `ssmcap live` for real: in a network namespace made by the test, on its loopback, a real HTTPS server
 * (node https, a self-signed certificate made with openssl) on 127.0.0.55:8443 refuses the OAuth token
 * call with 403 invalid_client, and a real client calls it while `ssmcap live -i lo` captures with
 * tcpdump. Then the same with nothing listening. Needs root, tcpdump, ip and openssl (.ci/run has them);
 * skipped with a message elsewhere. The namespace is removed afterwards, also when a case fails.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { CLI, ROOT } from './helpers/cli.js';

const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).error === undefined;
const isRoot = process.getuid?.() === 0;
const missing = [!isRoot && 'root', !has('tcpdump', ['--version']) && 'tcpdump', !has('ip', ['-V']) && 'ip', !has('openssl', ['version']) && 'openssl'].filter(Boolean);
if (missing.length) console.warn(`live: needs ${missing.join(', ')}: skipping the live capture test (.ci/run runs it as root)`);

const NS = `ssmcap-test-${process.pid}`;
const ADDR = '127.0.0.55';

// root in a container may still be refused namespaces (no CAP_SYS_ADMIN): make the namespace here, or skip
let nsMade = false;
if (missing.length === 0) {
  const made = spawnSync('ip', ['netns', 'add', NS], { encoding: 'utf8' });
  if (made.status === 0) nsMade = true;
  else {
    missing.push('network namespaces');
    console.warn(`live: cannot make a network namespace (ip netns add: ${(made.stderr || made.error?.message || '').trim()}): skipping the live capture test`);
  }
}

const SERVER = `
import https from 'node:https';
import fs from 'node:fs';
const [key, cert] = [fs.readFileSync(process.argv[2]), fs.readFileSync(process.argv[3])];
https.createServer({ key, cert }, (req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (req.method === 'POST' && req.url.startsWith('/backend/oauth/token')) {
      res.writeHead(403, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: 'invalid_client', error_description: 'Grant not found' }));
    } else {
      res.writeHead(404, { connection: 'close' });
      res.end();
    }
  });
}).listen(8443, '${ADDR}', () => console.log('ready'));
`;

const CLIENT = `
import https from 'node:https';
const call = () => new Promise((resolve) => {
  const body = 'grant_type=client_credentials&client_id=abcdef123456&client_secret=s3cr3t';
  const req = https.request({ host: '${ADDR}', port: 8443, method: 'POST', path: '/backend/oauth/token?grant_type=client_credentials', rejectUnauthorized: false, agent: false,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } }, (res) => {
    res.resume();
    res.on('end', () => resolve('status ' + res.statusCode));
  });
  req.on('error', (e) => resolve(e.code));
  req.end(body);
});
for (let i = 0; i < 3; i++) {
  console.log(await call());
  await new Promise((r) => setTimeout(r, 200));
}
`;

let dir = '';
let server: ChildProcess | null = null;

function inNs(args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** run `ssmcap live` in the namespace; resolves once it is capturing, with `done`, a promise of its end */
function startLive(args: string[]): Promise<{ done: Promise<{ code: number | null; stdout: string; stderr: string }>; child: ChildProcess }> {
  return new Promise((resolveStarted, rejectStarted) => {
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, CLI, 'live', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let started = false;
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => child.on('close', (code) => res({ code, stdout, stderr })));
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!started && stderr.includes('capturing on')) {
        started = true;
        resolveStarted({ done, child }); // wrapped: a promise resolved with a promise would wait for it
      }
    });
    void done.then((r) => {
      if (!started) rejectStarted(new Error(`ssmcap live did not start (exit ${r.code}): ${r.stderr}`));
    });
  });
}

// the namespace goes, whatever happened in the cases
afterAll(() => {
  if (nsMade) spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
});

describe.skipIf(missing.length > 0)('ssmcap live captures real connections in a network namespace', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-live-'));
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    // 127.0.0.0/8 on lo already covers the address; add it explicitly where a kernel does not
    spawnSync('ip', ['netns', 'exec', NS, 'ip', 'addr', 'add', `${ADDR}/32`, 'dev', 'lo'], { stdio: 'ignore' });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=ssm-onprem.test'], { stdio: 'ignore' });
    fs.writeFileSync(path.join(dir, 'server.mjs'), SERVER);
    fs.writeFileSync(path.join(dir, 'client.mjs'), CLIENT);
  }, 30_000);

  afterAll(() => {
    server?.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a 403 invalid_client over TLS: application (auth-rejected, the answer is encrypted)', async () => {
    server = spawn('ip', ['netns', 'exec', NS, process.execPath, path.join(dir, 'server.mjs'), path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      server!.stdout!.on('data', (d) => String(d).includes('ready') && res());
      server!.on('close', (c) => rej(new Error(`test server exited ${c}`)));
    });
    const pcap = path.join(dir, 'live.pcap');
    const { done } = await startLive(['-i', 'lo', '--port', '8443', '--duration', '4', '--format', 'json', '-w', pcap]);
    const client = inNs([process.execPath, path.join(dir, 'client.mjs')]);
    expect(client.trim().split('\n')).toEqual(['status 403', 'status 403', 'status 403']);
    const r = await done;
    server.kill();
    server = null;
    const report = JSON.parse(r.stdout);
    expect(report.verdict, r.stderr + JSON.stringify(report.inputs)).toBe('application');
    expect(report.reason).toBe('auth-rejected');
    expect(report.servers).toHaveLength(1);
    expect(report.servers[0].address).toBe(ADDR);
    expect(report.servers[0].connection_count).toBe(3);
    expect(r.code).toBe(12);
    // each connection's verdict on stderr as it ended
    expect(r.stderr.match(/-> 127\.0\.0\.55:8443: [A-Z0-9]+ \S+: application\/auth-rejected/g)?.length, r.stderr).toBe(3);
    // -w kept the raw capture, and it reads to the same verdict
    const again = spawnSync(process.execPath, [CLI, 'analyze', pcap, '--format', 'json'], { encoding: 'utf8' });
    expect(JSON.parse(again.stdout).reason).toBe('auth-rejected');
  }, 30_000);

  it('nothing listening: transport (refused)', async () => {
    const { done } = await startLive(['-i', 'lo', '--port', '8443', '--duration', '2', '--format', 'json']);
    const client = inNs([process.execPath, path.join(dir, 'client.mjs')]);
    expect(client.trim().split('\n')).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
    const r = await done;
    const report = JSON.parse(r.stdout);
    expect(report.verdict, r.stderr + JSON.stringify(report.inputs)).toBe('transport');
    expect(report.reason).toBe('refused');
    expect(r.code).toBe(10);
  }, 30_000);

  it('SIGTERM ends the capture with the report; --format ndjson streams the connections', async () => {
    const { done, child } = await startLive(['-i', 'lo', '--format', 'ndjson']);
    inNs([process.execPath, path.join(dir, 'client.mjs')]);
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const r = await done;
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.filter((x) => x.type === 'connection')).toHaveLength(3);
    expect(recs.at(-1)).toMatchObject({ type: 'summary', verdict: 'transport', reason: 'refused' });
    expect(r.code).toBe(10);
  }, 30_000);

  it('the interface going away ends the capture: a line saying so, then the report', async () => {
    const made = spawnSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'add', 'ssmv0', 'type', 'veth', 'peer', 'name', 'ssmv1'], { encoding: 'utf8' });
    if (made.status !== 0) {
      console.warn(`live: cannot make a veth pair (${made.stderr.trim()}): skipping the interface-gone case`);
      return;
    }
    inNs(['ip', 'link', 'set', 'ssmv0', 'up']);
    inNs(['ip', 'link', 'set', 'ssmv1', 'up']);
    const { done } = await startLive(['-i', 'ssmv0', '--format', 'json']);
    inNs(['ip', 'link', 'del', 'ssmv0']);
    const r = await done;
    expect(r.stderr).toMatch(/capture ended: the interface ssmv0 went away/);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'inconclusive', reason: 'no-server-traffic' });
    expect(r.code).toBe(13);
  }, 30_000);

  it('analyze --follow reads what a real tcpdump -w (without -U) is writing', async () => {
    const file = path.join(dir, 'growing.pcap');
    const td = spawn('ip', ['netns', 'exec', NS, 'tcpdump', '--immediate-mode', '-n', '-i', 'lo', '-w', file, 'tcp port 8443'], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((res, rej) => {
      let err = '';
      td.stderr!.on('data', (d) => (err += d) && err.includes('listening on') && res());
      td.on('close', (c) => rej(new Error(`tcpdump exited ${c}: ${err}`)));
    });
    const follow = spawn(process.execPath, [CLI, 'analyze', '--follow', file, '--idle', '2', '--format', 'json'], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    follow.stdout.on('data', (d) => (stdout += d));
    follow.stderr.on('data', (d) => (stderr += d));
    const ended = new Promise<number | null>((res) => follow.on('close', res));
    inNs([process.execPath, path.join(dir, 'client.mjs')]);
    await new Promise((r) => setTimeout(r, 500));
    td.kill('SIGINT');
    const code = await ended;
    const report = JSON.parse(stdout);
    expect(report, stderr).toMatchObject({ verdict: 'transport', reason: 'refused' });
    expect(report.servers[0].connection_count).toBe(3);
    expect(code).toBe(10);
    expect(stderr.match(/transport\/refused/g)).toHaveLength(3);
  }, 30_000);

  it('no such interface: one line saying what to do, exit 69', async () => {
    const r = spawnSync('ip', ['netns', 'exec', NS, process.execPath, CLI, 'live', '-i', 'nosuch0', '--duration', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(69);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no such interface nosuch0/);
    expect(r.stdout).toBe('');
  }, 30_000);
});

describe('ssmcap live without what it needs', () => {
  let capInstalled = false;
  try {
    createRequire(import.meta.url).resolve('cap');
    capInstalled = true;
  } catch {
    /* the usual case: the optional binding is not installed */
  }
  it.skipIf(capInstalled)('--engine cap without the cap binding says what to install, exit 69', () => {
    const r = spawnSync(process.execPath, [CLI, 'live', '--engine', 'cap', '-i', 'lo', '--duration', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(69);
    expect(r.stderr).toMatch(/apt-get install libpcap-dev && npm install cap/);
  });

  it('-w into a directory that does not exist: one line, exit 69, before capturing', () => {
    const r = spawnSync(process.execPath, [CLI, 'live', '-i', 'lo', '--duration', '1', '-w', '/nonexistent-dir/x.pcap'], { encoding: 'utf8' });
    expect(r.status).toBe(69);
    expect(r.stderr).toBe('ssmcap: cannot write /nonexistent-dir/x.pcap: no such directory\n');
  });

  // nobody must be able to read the checkout (a CI checkout under /root may not be)
  const asNobody = isRoot && has('setpriv', ['--version']) && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', CLI]).status === 0;
  if (isRoot && !asNobody) console.warn('live: setpriv missing or the checkout is not readable by nobody: skipping the not-root case');
  it.skipIf(missing.length > 0 || !asNobody)('not root: one line saying what to do, exit 69', () => {
    // run as nobody (no capture capability): tcpdump is refused the socket
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'live', '-i', 'lo', '--duration', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(69);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not permitted to capture on lo: run as root/);
  });

  it('no tcpdump on the PATH: one line, exit 69', () => {
    const r = spawnSync(process.execPath, [CLI, 'live', '-i', 'lo', '--duration', '1'], { encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } });
    expect(r.status).toBe(69);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/tcpdump is not installed/);
  });
});
