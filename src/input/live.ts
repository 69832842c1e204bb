/**
 * Live capture: a byte stream of pcap data from a capture engine, fed to the same reader as a file.
 *
 * Engines:
 * - `tcpdump` (default): `tcpdump --immediate-mode -U -w - -n -i IFACE [-c N] <bpf>`; its stdout is the pcap stream
 *   (packet-buffered by -U, so each packet arrives as it is captured). Stopping it with SIGINT makes it
 *   flush and exit, which ends the stream.
 * - `cap`: the optional npm binding `cap` over libpcap (not a dependency: imported dynamically); its
 *   packets are written out as a pcap stream here.
 *
 * A capture that cannot start (no tcpdump, no permission, no such interface) is a LiveError with one line
 * saying what to do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';

export type LiveEngine = 'tcpdump' | 'cap';

export interface LiveOptions {
  /** interface to capture on (default: tcpdump's default; `any` on Linux for every interface) */
  iface?: string;
  /** the SSM server port (default 8443) */
  port?: number;
  /** proxy ports whose traffic is captured too */
  proxyPorts?: number[];
  /** stop after this many packets */
  count?: number;
  /** keep the raw capture (pcap) in this file too */
  writeFile?: string;
  engine?: LiveEngine;
  /** the tcpdump binary (default `tcpdump` on the PATH) */
  tcpdumpPath?: string;
}

export class LiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiveError';
  }
}

/**
 * The BPF filter: TCP to or from the server port and the proxy ports, plus ICMP and ICMPv6 errors
 * (destination unreachable, time exceeded, parameter problem, and ICMPv6 packet too big) which quote the
 * packet they are about.
 */
export function liveFilter(port: number, proxyPorts: number[] = []): string {
  const ports = [...new Set([port, ...proxyPorts])].map((p) => `tcp port ${p}`);
  // icmp[0]: type (3 unreachable, 4 source quench, 11 time exceeded, 12 parameter problem);
  // ip6[40]: the ICMPv6 type right after a fixed IPv6 header (1 unreachable, 2 too big, 3 time exceeded, 4 parameter)
  const icmp = '(icmp and (icmp[0] == 3 or icmp[0] == 4 or icmp[0] == 11 or icmp[0] == 12))';
  const icmp6 = '(icmp6 and (ip6[40] == 1 or ip6[40] == 2 or ip6[40] == 3 or ip6[40] == 4))';
  return [...ports, icmp, icmp6].join(' or ');
}

export interface LiveCapture {
  /** pcap bytes as captured (and teed to writeFile) */
  stream: AsyncIterable<Uint8Array>;
  /** resolves once the engine captures (tcpdump said `listening on`); rejects with a LiveError if it cannot start */
  ready: Promise<void>;
  /** stop capturing: the stream ends after what was captured so far */
  stop(): void;
  /** resolves when the engine has ended: a message when it ended on its own with an error (e.g. the interface went away) */
  ended: Promise<string | null>;
  /** a short description for messages: interface and filter */
  describe: string;
}

export async function startLive(opts: LiveOptions): Promise<LiveCapture> {
  const engine = opts.engine ?? 'tcpdump';
  if (engine === 'cap') return startCap(opts);
  return startTcpdump(opts);
}

function startTcpdump(opts: LiveOptions): LiveCapture {
  const filter = liveFilter(opts.port ?? 8443, opts.proxyPorts);
  // --immediate-mode: each packet is handed over at once (with TPACKET_V3 the kernel otherwise holds them
  // for up to a second, and a stop within that second loses them)
  const args = ['--immediate-mode', '-U', '-w', '-', '-n'];
  if (opts.iface) args.push('-i', opts.iface);
  if (opts.count !== undefined) args.push('-c', String(opts.count));
  args.push(filter);
  const iface = opts.iface ?? '(tcpdump\'s default interface)';
  const child: ChildProcess = spawn(opts.tcpdumpPath ?? 'tcpdump', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let listening = false;
  let spawnError: NodeJS.ErrnoException | null = null;
  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  ready.catch(() => undefined);
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 64 * 1024) stderr += d;
    if (!listening && /listening on/.test(stderr)) {
      listening = true;
      readyResolve();
    }
  });
  child.on('error', (e: NodeJS.ErrnoException) => {
    spawnError = e;
  });
  const ended = new Promise<string | null>((resolve) => {
    child.on('close', (code, signal) => {
      if (spawnError) {
        const e = spawnError.code === 'ENOENT' ? new LiveError(`tcpdump is not installed (or not on the PATH): apt-get install tcpdump, or use --engine cap`) : new LiveError(`cannot run tcpdump: ${spawnError.message}`);
        readyReject(e);
        resolve(e.message);
        return;
      }
      const msg = tcpdumpProblem(stderr, iface);
      if (!listening) {
        readyReject(new LiveError(msg ?? `tcpdump exited (${signal ?? `code ${code}`}) before capturing: ${lastLine(stderr) || 'no message'}`));
        resolve(msg);
        return;
      }
      // stopped by us (SIGINT, -c) exits 0; anything else is the capture ending on its own
      resolve(code === 0 || signal === 'SIGINT' || signal === 'SIGTERM' ? null : (msg ?? `tcpdump ended (${signal ?? `code ${code}`}): ${lastLine(stderr)}`));
    });
  });
  let stopped = false;
  const stop = () => {
    if (stopped || child.exitCode !== null || child.signalCode !== null) return;
    stopped = true;
    child.kill('SIGINT');
  };
  return { stream: tee(child.stdout!, opts.writeFile), ready, stop, ended, describe: `${iface}, filter "${filter}"` };
}

/** what tcpdump's error output means for the user: one line saying what to do, or null */
export function tcpdumpProblem(stderr: string, iface: string): string | null {
  const t = stderr;
  if (/No such device|doesn't exist|no such interface|SIOCGIFHWADDR|not found/i.test(t) && !/listening on/.test(t)) {
    return `no such interface ${iface}: \`ip link\` lists the interfaces (or use -i any)`;
  }
  if (/permission|Operation not permitted|not permitted/i.test(t)) {
    return `not permitted to capture on ${iface}: run as root (sudo ssmcap live ...) or give tcpdump the capture capability (setcap cap_net_raw,cap_net_admin=eip $(command -v tcpdump))`;
  }
  if (/syntax error|can't parse filter|expression rejects all packets/i.test(t)) return `tcpdump refused the capture filter: ${lastLine(t)}`;
  if (/went down|ENXIO|interface.*(disappeared|down|removed)|device.*(removed|gone)/i.test(t)) return `the interface ${iface} went away: ${lastLine(t)}`;
  return null;
}

function lastLine(s: string): string {
  const lines = s.split('\n').map((l) => l.trim()).filter((l) => l && !/^\d+ packets? (captured|received|dropped)/.test(l) && !/^listening on/.test(l));
  return (lines.at(-1) ?? '').replace(/^tcpdump: /, '');
}

/** the stream's chunks, each also written to `file` (with its backpressure) when one is named */
async function* tee(src: Readable, file: string | undefined): AsyncGenerator<Uint8Array> {
  const out = file ? fs.createWriteStream(file) : null;
  let outError: Error | null = null;
  out?.on('error', (e) => (outError = e));
  try {
    for await (const c of src as AsyncIterable<Buffer>) {
      if (out && !outError && !out.write(c)) await Promise.race([once(out, 'drain'), once(out, 'error')]).catch(() => undefined);
      yield c;
    }
  } finally {
    if (out) await new Promise<void>((res) => out.end(res));
    if (outError) throw new LiveError(`cannot write ${file}: ${(outError as Error).message}`);
  }
}

// ---- the optional `cap` binding -------------------------------------------------------------------

/** libpcap link type names as `cap` reports them, to pcap LINKTYPE numbers */
const CAP_LINKTYPES: Record<string, number> = { ETHERNET: 1, NULL: 0, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276, IEEE802_11: 105, IEEE802_11_RADIO: 127, LOOP: 108 };

interface CapModule {
  Cap: new () => {
    open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
    setMinBytes?(n: number): void;
    on(ev: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
    close(): void;
  };
  findDevice?(ip?: string): string | undefined;
}

async function startCap(opts: LiveOptions): Promise<LiveCapture> {
  let mod: CapModule;
  try {
    const name = 'cap';
    const m = (await import(name)) as { default?: CapModule } & CapModule;
    mod = m.Cap ? m : (m.default as CapModule);
    if (!mod?.Cap) throw new Error('no Cap export');
  } catch {
    throw new LiveError('--engine cap needs the optional cap binding: apt-get install libpcap-dev && npm install cap (or use the default --engine tcpdump)');
  }
  const filter = liveFilter(opts.port ?? 8443, opts.proxyPorts);
  const device = opts.iface ?? mod.findDevice?.() ?? 'any';
  const cap = new mod.Cap();
  const SNAP = 262144;
  const buffer = Buffer.alloc(SNAP);
  let linkName: string;
  try {
    linkName = cap.open(device, filter, 10 * 1024 * 1024, buffer);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    throw new LiveError(tcpdumpProblem(msg, device) ?? `cannot capture on ${device}: ${msg}`);
  }
  cap.setMinBytes?.(0);
  const out = new PassThrough();
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(SNAP, 16);
  header.writeUInt32LE(CAP_LINKTYPES[linkName] ?? 1, 20);
  out.write(header);
  let n = 0;
  let stopped = false;
  let endedResolve!: (m: string | null) => void;
  const ended = new Promise<string | null>((res) => (endedResolve = res));
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      cap.close();
    } catch {
      /* already closed */
    }
    out.end();
    endedResolve(null);
  };
  cap.on('packet', (nbytes, truncated) => {
    if (stopped) return;
    const now = Date.now();
    const rec = Buffer.alloc(16 + nbytes);
    rec.writeUInt32LE(Math.floor(now / 1000), 0);
    rec.writeUInt32LE((now % 1000) * 1000, 4);
    rec.writeUInt32LE(nbytes, 8);
    rec.writeUInt32LE(truncated ? SNAP : nbytes, 12);
    buffer.copy(rec, 16, 0, nbytes);
    out.write(rec);
    if (opts.count !== undefined && ++n >= opts.count) stop();
  });
  return { stream: tee(out, opts.writeFile), ready: Promise.resolve(), stop, ended, describe: `${device}, filter "${filter}"` };
}
