/**
 * analyze: one capture in, findings out. Streams the capture through the decoder and the connection
 * table, attaches a protocol session to every connection that matters (to the server port, or a
 * client speaking CONNECT to a proxy), files ICMP errors under the connection they quote, then judges
 * each connection and each server. Connections that do not matter are dropped as soon as that is
 * known, so memory follows the connections of interest, not the capture's size.
 */
import { Decoder } from '../decode/packet.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, type Packet } from '../decode/view.js';
import { formatIPv4, formatIPv6, hostOf, hostPort } from '../decode/addr.js';
import { CaptureError, type CaptureErrorInit } from '../errors.js';
import { readCapture, type CaptureInput, type ReadOptions } from '../input/reader.js';
import { linkTypeName } from '../input/linktypes.js';
import { attachConsumers, Connection, ConnTracker, type DirStats } from '../flow/conn.js';
import { hashFlow } from '../flow/table.js';
import { ConnectSniffer, Session, type SessionOpener } from '../protocols/session.js';
import { DSB_TLS_KEYLOG, KeyLog, type KeyLogProblem } from '../protocols/keylog.js';
import type { DecryptFailure } from '../protocols/decrypt.js';
import fs from 'node:fs';
import { ChecksumLedger, EMPTY_LEDGER, type ChecksumCounts, type ChecksumSummaryLine, type LedgerExport } from './checksums.js';
import { HINTS, type Reason, type Verdict } from './hints.js';
import { judgeConnection, type ConnFinding, type Evidence } from './judge.js';
import type { LogNote } from './logs.js';
import { NeighborLedger, type UnansweredNeighbor } from './neighbors.js';
import { ServerJudge, type JudgedConn, type ServerResult } from './servers.js';

export { overallVerdict, type ServerResult } from './servers.js';
import { buildLadder, type LadderStep } from './ladder.js';

export interface AnalyzeOptions extends ReadOptions {
  /** the SSM server port (default 8443) */
  port?: number;
  /** only this server (address, optionally with port) */
  server?: { addr: string; port?: number };
  /** called with each connection's summary and provisional verdict as soon as it is judged */
  onConnection?: (r: ConnectionResult) => void;
  /**
   * connections reported in full per input (default 1000); the rest still count in their server's
   * verdict and go through onConnection, but are kept only as a slim summary (memory stays flat)
   */
  maxConnections?: number;
  /**
   * live input (a capture still being taken or written): a closed connection is also judged when no packet
   * came for its linger time of wall-clock time, so its verdict is out while the capture goes on
   */
  judgeWhileIdle?: boolean;
  /** progress: bytes read and packets seen so far (called where ReadOptions.onProgress is) */
  onReadProgress?: (bytes: number, packets: number) => void;
  /**
   * monitoring: called after each inactivity sweep (every 10 s of capture time) with the connections
   * the tracker still holds, open ones and ones waiting to be judged
   */
  onTracked?: (connections: number) => void;
  /** NSS key log files to decrypt TLS with (`--keylog`, repeatable) */
  keylog?: string[];
  /** read `CAPTURE.keys` beside a capture file when it exists (default true) */
  keylogBeside?: boolean;
}

/** the key logs an input was analysed with: files, the one beside the capture, Decryption Secrets Blocks */
export interface KeylogResult {
  sources: { source: string; secrets: number }[];
  /** lines that did not parse, with their line numbers (the secret never shown) */
  problems: KeyLogProblem[];
  /** connections with protected records, and how many of them were decrypted */
  connections: number;
  decrypted_connections: number;
}

/** capture seconds a closed connection waits for stray packets (last ACK, a late RST) before it is judged */
const LINGER_SEC = 5;
/**
 * Inactivity timeouts (capture time): a connection to the port silent this long is judged with what it
 * showed (Zeek's tcp_inactivity_timeout is 5 min); one nobody wants is forgotten sooner. Checked every
 * SWEEP_SEC.
 */
const IDLE_SEC = 300;
const DROPPED_IDLE_SEC = 60;
const SWEEP_SEC = 10;
/** a shard tells how far it got at least this often (frames) */
const WATERMARK_FRAMES = 8192;

export function errorInit(e: CaptureError | null): CaptureErrorInit | null {
  if (e === null) return null;
  return { code: e.code, file: e.file, offset: e.offset, detail: e.detail, need: e.need, have: e.have, decompressed: e.decompressed };
}

export interface ConnectionResult {
  id: number;
  input: string;
  client: string;
  server: string;
  /** the proxy this connection went through (address:port), for tunnels */
  proxy: string | null;
  /** the CONNECT target for proxy legs */
  target: string | null;
  role: 'direct' | 'proxy-tunnel' | 'proxy-upstream';
  conn_state: string;
  history: string;
  first_frame: number;
  last_frame: number;
  start: string;
  duration: number;
  packets: { orig: number; resp: number };
  bytes: { orig: number; resp: number };
  retransmissions: { orig: number; resp: number };
  /** per direction (orig = client, resp = server), in the words of tshark's tcp.analysis and Zeek */
  tcp?: { orig: DirFacts; resp: DirFacts };
  syn_ack_rtt: number | null;
  ack_rtt: number | null;
  midstream: boolean;
  verdict: Verdict;
  reason: Reason;
  summary: string;
  inferred: boolean;
  evidence: Evidence[];
  tls: {
    version: string | null;
    sni: string | null;
    handshake_complete: boolean;
    alerts: string[];
    certificate: { subject: string; issuer: string; not_after: string } | null;
    /** with a key log: protected records read, cut and failed, and the key log used */
    decrypted?: { records: number; decrypted: number; partial: number; failed: number; keylog: string | null; problem: string | null; failures: DecryptFailure[] };
  } | null;
  http: ConnFinding['http'];
  /** one exchange per request on an encrypted connection: its frame and bytes, the answer's frame and bytes (0: none) */
  exchanges: { request_frame: number; request_bytes: number; response_frame: number; response_bytes: number }[];
  payload_cut: boolean;
  /** log lines matched to this connection (--log), on the capture's clock */
  log_events?: LogNote[];
  /** who sent what, in frame order (listed connections only): the ladder diagram of the HTML and --ladder */
  ladder?: LadderStep[];
}

export interface DirFacts {
  packets: number;
  payload_bytes: number;
  retransmissions: number;
  retransmitted_bytes: number;
  out_of_order: number;
  duplicate_acks: number;
  sack_blocks: number;
  zero_windows: number;
  /** bytes never seen: lost before the capture point, or dropped by the capture */
  lost_bytes: number;
  /** bytes the snaplen cut from captured segments */
  snaplen_cut_bytes: number;
  mss: number | null;
  window_scale: number | null;
  max_segment: number;
  /** segments larger than the peer's MSS: TSO/GRO on the capturing host, not an error */
  super_segments: number;
  ttl: number | null;
  checksum_offload: number;
  checksum_bad: number;
  /** packets the capture holds twice (seen on two interfaces): left out of every other count */
  capture_duplicates: number;
}

function dirFacts(d: DirStats): DirFacts {
  const st = d.stream.stats;
  return {
    packets: d.packets,
    payload_bytes: d.payloadBytes,
    retransmissions: st.retransmissions,
    retransmitted_bytes: st.retransmittedBytes,
    out_of_order: st.outOfOrder,
    duplicate_acks: d.dupAcks,
    sack_blocks: d.sackBlocks,
    zero_windows: d.zeroWindows,
    lost_bytes: st.lostBytes,
    snaplen_cut_bytes: st.snaplenBytes,
    mss: d.mss >= 0 ? d.mss : null,
    window_scale: d.wscale >= 0 ? d.wscale : null,
    max_segment: d.maxSegment,
    super_segments: d.superSegments,
    ttl: d.ttl >= 0 ? d.ttl : null,
    checksum_offload: d.checksumPartial,
    checksum_bad: d.checksumBad,
    capture_duplicates: d.captureDuplicates,
  };
}

export interface InputResult {
  path: string;
  format: string | null;
  compression: string | null;
  link_types: { link_type: number; name: string; frames: number }[];
  packets: number;
  bytes: number;
  error: ReturnType<CaptureError['toJSON']> | null;
  readable: boolean;
  /** a file found in a directory: the directory as named on the command line, and the file's path inside it */
  directory?: string;
  path_in_directory?: string;
  /** connections judged; those past maxConnections are in their servers' verdicts but not listed */
  connections_total: number;
  connections_omitted: number;
  /** addresses asked for by ARP or neighbor discovery again and again, never answered */
  unanswered_neighbors: UnansweredNeighbor[];
  /** present when key logs were given or found */
  keylog?: KeylogResult;
}

export interface CaptureAnalysis {
  input: InputResult;
  servers: ServerResult[];
  connections: ConnectionResult[];
  checksums: ChecksumSummaryLine[];
  error: CaptureError | null;
}

/**
 * Where a serial run judges a connection, in an order any thread can compute: the frame whose packet
 * triggered the judging (END_FRAME at the end), the phase (0 closed a while ago, 1 silent too long, 2 and 3
 * at the end: closed, then still open) and, within one, the frame that closed it (0, 2) or its first
 * frame (1, 3).
 */
export interface JudgeKey {
  frame: number;
  phase: number;
  sub: number;
}

/** one judged connection on its way to the report */
export interface Judged extends JudgeKey {
  /** the result; null for one that can be neither listed nor streamed (past a part's first maxConnections) */
  r: ConnectionResult | null;
  /** what the server verdict reads of it (the collector adds its number, whether it is listed, its evidence) */
  j: Omit<JudgedConn, 'id' | 'listed' | 'evidence'>;
}

/** a key after every packet's */
export const END_FRAME = Number.MAX_SAFE_INTEGER;

export function keyBefore(a: JudgeKey, b: JudgeKey): boolean {
  return a.frame < b.frame || (a.frame === b.frame && (a.phase < b.phase || (a.phase === b.phase && a.sub < b.sub)));
}

/** which of `count` shards a flow belongs to: both directions, and ICMP errors quoting it, alike */
export function shardOf(count: number, proto: number, b: Uint8Array, alen: number, src: number, dst: number, sport: number, dport: number): number {
  return (hashFlow(proto, b, alen, src, dst, sport, dport) >>> 0) % count;
}

/** a part of one capture's analysis: a shard's flows, or all of them */
export interface Shard {
  index: number;
  count: number;
  /** the judged connections, in key order */
  onJudged: (x: Judged) => void;
  /** every packet up to `frame` is processed: no key at or before it will come */
  onWatermark?: (frame: number) => void;
  /** an ICMP error whose quote stops before the ports: it cannot be given to its flow's shard */
  onUnroutable?: () => void;
}

/** what one part leaves besides its judged connections (plain data: it crosses threads) */
export interface PartState {
  input: Omit<InputResult, 'connections_total' | 'connections_omitted' | 'unanswered_neighbors' | 'keylog'>;
  error: CaptureErrorInit | null;
  unanswered: UnansweredNeighbor[];
  cutTcp: [string, CutTcp][];
  keylog: { sources: KeylogResult['sources']; problems: KeylogResult['problems'] } | null;
  keyConns: number;
  keyDecrypted: number;
  checksums: LedgerExport;
  blindLegs: BlindLeg[];
}

/**
 * A connection to a usual HTTP proxy port whose bytes the capture does not hold (tcpdump's text, or a
 * snaplen that cut every payload), in which the client spoke first and the proxy answered: what a CONNECT
 * leg looks like without its text. Judged at the end, beside the connections to the port (finishAnalysis).
 */
export interface BlindLeg {
  client: string;
  proxyAddr: string;
  proxyPort: number;
  firstFrame: number;
  requestFrame: number;
  requestBytes: number;
  responseFrame: number;
  responseBytes: number;
  /** client bytes after the proxy's answer (a tunnel at work), and the frame of the first */
  afterBytes: number;
  lastFrame: number;
  connState: string;
  history: string;
  /** the client's first bytes say CONNECT, the snaplen cut the request line before its target (any port) */
  connect?: boolean;
}

/** ports HTTP proxies usually listen on */
const PROXY_PORTS = new Set([80, 3128, 3129, 8000, 8008, 8080, 8081, 8118, 8888]);
const MAX_BLIND_LEGS = 64;

function blindLeg(c: Connection, connect = false): BlindLeg | null {
  if (c.midstream || c.orig.syn === 0 || (!connect && !PROXY_PORTS.has(c.server.port))) return null;
  const segs = c.segments.toArray();
  const req = segs[0];
  if (!req || req.dir !== 'c') return null;
  const resp = segs.find((g) => g.dir === 's');
  if (!resp) return null;
  let requestBytes = 0;
  let responseBytes = 0;
  let afterBytes = 0;
  for (const g of segs) {
    if (g.dir === 's') responseBytes += g.len;
    else if (g.frame < resp.frame) requestBytes += g.len;
    else afterBytes += g.len;
  }
  return {
    client: hostPort(c.client.addr, c.client.port),
    proxyAddr: c.server.addr,
    proxyPort: c.server.port,
    firstFrame: c.firstFrame,
    requestFrame: req.frame,
    requestBytes,
    responseFrame: resp.frame,
    responseBytes,
    afterBytes,
    lastFrame: c.lastFrame,
    connState: c.connState,
    history: c.history,
    ...(connect ? { connect } : {}),
  };
}

interface CutTcp {
  packets: number;
  first: number;
  last: number;
  capLen: number;
}

/**
 * Receives judged connections in key order and does what depends on that order: numbers them (ids in
 * the order they are judged), lists the first maxConnections in full, streams them, folds server verdicts.
 */
export class Collector {
  readonly listed: ConnectionResult[] = [];
  judged = 0;
  readonly servers: ServerJudge;

  constructor(
    inputName: string,
    private readonly maxDetailed: number,
    private readonly onConnection: ((r: ConnectionResult) => void) | undefined,
  ) {
    this.servers = new ServerJudge(inputName);
  }

  take(x: Judged): void {
    const id = ++this.judged;
    const r = x.r;
    const detail = r !== null && this.listed.length < this.maxDetailed;
    if (r !== null) {
      r.id = id;
      this.onConnection?.(r);
      if (detail) this.listed.push(r);
    }
    // the facts become the server verdict's record of the connection (toResult sorted the evidence in place)
    const jc = x.j as JudgedConn;
    jc.id = id;
    jc.evidence = detail ? r.evidence : [];
    jc.listed = detail;
    this.servers.add(jc);
  }
}

export async function analyzeCapture(input: CaptureInput, opts: AnalyzeOptions = {}): Promise<CaptureAnalysis> {
  const inputName = opts.name ?? (typeof input === 'string' ? input : '-');
  const collector = new Collector(inputName, opts.maxConnections ?? 1000, opts.onConnection);
  const { part, ledger, error } = await analyzePart(input, opts, { index: 0, count: 1, onJudged: (x) => collector.take(x) });
  return finishAnalysis(collector, [part], opts, ledger.summarize(), error);
}

/**
 * One part of a capture: every packet is read and decoded (frame numbers and the clock are the whole
 * capture's), the flows of `shard` are tracked and judged; count 1 is the whole analysis.
 */
export async function analyzePart(input: CaptureInput, opts: AnalyzeOptions, shard: Shard): Promise<{ part: PartState; ledger: ChecksumLedger; error: CaptureError | null }> {
  const sharded = shard.count > 1;
  const first = shard.index === 0;
  const port = opts.port ?? 8443;
  const decoder = new Decoder();
  /** the shard of the last TCP packet whose ports were read, and its frame: computed once per packet */
  let tcpShard = -1;
  let tcpShardFrame = -1;
  const tcpShardOf = (p: Packet): number => {
    if (tcpShardFrame !== p.frame.number) {
      tcpShardFrame = p.frame.number;
      tcpShard = shardOf(shard.count, PROTO_TCP, p.buf, p.ipVersion === 4 ? 4 : 16, p.srcOff, p.dstOff, p.srcPort, p.dstPort);
    }
    return tcpShard;
  };
  if (sharded) decoder.packet.tcpChecksumWanted = (p) => tcpShardOf(p) === shard.index;
  const ledger = new ChecksumLedger();
  const neighbors = new NeighborLedger();
  /** packets to or from the port whose TCP header the snaplen cut (ports seen, flags not): per server address */
  const cutTcp = new Map<string, { packets: number; first: number; last: number; capLen: number }>();
  const sessions = new Map<Connection, Session>();
  // the server port of interest: --server ADDR:PORT names it, else --port (8443)
  const wantPort = opts.server?.port ?? port;
  const interesting = (c: Connection) => c.server.port === wantPort && (opts.server === undefined || c.server.addr === opts.server.addr);
  /** a connection to another port whose client spoke CONNECT: its session, from then on */
  const opener: SessionOpener = {
    open: (c) => {
      const s = new Session(c, useKeys());
      sessions.set(c, s);
      c.app = null;
      return s;
    },
  };
  /** a connection to another port, watched until its client's first bytes show whether it is a proxy leg */
  const sniff = (c: Connection): void => {
    const sniffer = new ConnectSniffer(c, opener);
    c.app = sniffer;
    attachConsumers(c, sniffer, null);
  };
  const tracker = new ConnTracker({
    port: wantPort,
    onOpen: (c) => {
      // a connection to the port gets its session; one to another port is sniffed until its client's
      // first bytes show whether it is a proxy leg (its session is made then); one seen mid-stream on
      // another port never shows its first bytes (a CONNECT line), so it gets nothing
      if (interesting(c)) sessions.set(c, new Session(c, useKeys()));
      else if (!c.midstream) sniff(c);
    },
    onLateSyn: (c) => {
      // its SYN came after its SYN-ACK: its streams are read from their first byte; on another port, its
      // client's first bytes may still be a CONNECT
      sessions.get(c)?.notMidstream();
      if (!interesting(c) && c.app === null && !c.dropped) sniff(c);
    },
    onClose: (c) => {
      if (!c.dropped) closedQueue.push(c);
    },
    unwanted: (c) => {
      if (interesting(c)) return false;
      const session = sessions.get(c);
      const sniffer = c.app instanceof ConnectSniffer ? c.app : null;
      // another port's connection seen mid-stream (a stray ACK after its close, or one older than the capture)
      if (!session && !sniffer) return true;
      const kind = session ? session.clientKind : sniffer!.kind;
      // decided once the client spoke (a CONNECT makes it a proxy leg), or once it ended without a word
      const unwanted = kind === 'connect' ? false : kind !== '' || c.closed;
      if (unwanted) {
        sessions.delete(c);
        if (kind === '' && blindLegs.length < MAX_BLIND_LEGS) {
          const leg = blindLeg(c);
          if (leg) blindLegs.push(leg);
        }
      }
      return unwanted;
    },
  });
  const inputName = opts.name ?? (typeof input === 'string' ? input : '-');
  // key logs: --keylog files, FILE.keys beside the capture, and the capture's own Decryption Secrets Blocks
  const keyLog = new KeyLog();
  for (const k of opts.keylog ?? []) keyLog.addFile(k);
  if (typeof input === 'string' && input !== '-' && opts.keylogBeside !== false && !(opts.keylog ?? []).includes(`${input}.keys`) && fs.existsSync(`${input}.keys`)) {
    keyLog.addFile(`${input}.keys`, `${input}.keys (beside the capture)`);
  }
  const useKeys = () => (keyLog.size > 0 ? keyLog : null);
  let keyConns = 0;
  let keyDecrypted = 0;
  const closedQueue: Connection[] = [];
  /** connections to a usual proxy port whose payload the capture does not hold (see blindLeg) */
  const blindLegs: BlindLeg[] = [];
  /** connections this part judged: its first maxConnections are built in full (they may be listed) */
  let judgedCount = 0;
  const maxDetailed = opts.maxConnections ?? 1000;
  // the key of the judging under way (see JudgeKey)
  let kFrame = 0;
  let kPhase = 0;
  let lastWatermark = 0;
  // capture time of the last frame; the idle timer notes the wall-clock time it first saw it (no clock
  // read per packet): judgeWhileIdle
  let lastTime = 0;
  let seenTime = -1;
  let lastWall = 0;
  let packets = 0;
  let lastSweep = 0;
  const onReadProgress = opts.onReadProgress;
  const readOpts: ReadOptions = {
    ...opts,
    ...(onReadProgress ? { onProgress: (b: number) => (opts.onProgress?.(b), onReadProgress(b, packets)) } : {}),
    // key logs inside the capture (pcapng Decryption Secrets Blocks) arrive before the frames they decrypt
    onSecret: (sec) => {
      opts.onSecret?.(sec);
      if (sec.type === DSB_TLS_KEYLOG) keyLog.addText(Buffer.from(sec.data).toString('utf8'), `${inputName} (Decryption Secrets Block at byte ${sec.fileOffset})`);
    },
  };
  const idleTimer = opts.judgeWhileIdle
    ? setInterval(() => {
        const wall = Date.now();
        if (lastTime !== seenTime) {
          seenTime = lastTime;
          lastWall = wall;
        }
        const now = lastTime + (wall - lastWall) / 1000;
        try {
          while (closedQueue.length > 0 && now - closedQueue[0]!.closedAt > LINGER_SEC) finalize(closedQueue.shift()!);
        } catch (e) {
          // thrown in a timer it would end the process with a stack trace: it ends the analysis instead
          timerError ??= e;
        }
      }, 500)
    : null;
  let timerError: unknown = null;
  const summary = await readCapture(
    input,
    (frame) => {
      packets++;
      const p = decoder.decode(frame);
      if (sharded && frame.number - lastWatermark >= WATERMARK_FRAMES) {
        lastWatermark = frame.number - 1;
        shard.onWatermark?.(lastWatermark);
      }
      if (p.ipVersion === 0) {
        if (p.netType === ETH_ARP && first) neighbors.add(p, frame.tsSec + frame.tsNsec / 1e9);
        return;
      }
      const time = frame.tsSec + frame.tsNsec / 1e9;
      lastTime = time;
      if (p.isTcp) {
        // connections closed a while ago are judged and summarised now: memory follows open connections
        // (every part does this on every TCP packet, its flow's or not: the judging order is the capture's)
        kFrame = frame.number;
        kPhase = 0;
        while (closedQueue.length > 0 && time - closedQueue[0]!.closedAt > LINGER_SEC) finalize(closedQueue.shift()!);
        if (time - lastSweep > SWEEP_SEC || time < lastSweep) {
          lastSweep = time;
          kPhase = 1;
          tracker.expireIdle(time, IDLE_SEC, DROPPED_IDLE_SEC, finalize);
          opts.onTracked?.(tracker.tracked);
        }
        if (sharded && tcpShardOf(p) !== shard.index) return;
        const c = tracker.add(p, time);
        if (!c.lastWasDuplicate && (interesting(c) || sessions.get(c)?.clientKind === 'connect')) {
          // a connection's addresses never change: its counts per direction are looked up once
          const i = c.lastFromClient ? 0 : 1;
          c.ledger[i] = ledger.add(p, c.ledger[i] as ChecksumCounts | null);
        }
      } else if ((p.transport === PROTO_ICMP || p.transport === PROTO_ICMPV6) && p.quoted.present) {
        const q = p.quoted;
        if (q.proto === 6 && q.srcPort >= 0) {
          if (!sharded || shardOf(shard.count, PROTO_TCP, p.tBuf, q.ipVersion === 4 ? 4 : 16, q.srcOff, q.dstOff, q.srcPort, q.dstPort) === shard.index) fileIcmp(p, time);
        } else if (isUnreachable(p)) {
          // filed under a connection by its host and time, whichever flow that is: only a whole capture can
          if (sharded) shard.onUnroutable?.();
          else fileCutIcmp(p, time);
        }
      } else if (p.transport === PROTO_ICMPV6) {
        if (first) neighbors.add(p, time);
      } else if (p.transport === PROTO_TCP && p.srcPort >= 0 && (p.dstPort === wantPort || p.srcPort === wantPort)) {
        if (!sharded || tcpShardOf(p) === shard.index) noteCutTcp(p);
      }
    },
    readOpts,
  ).finally(() => {
    if (idleTimer) clearInterval(idleTimer);
  });
  if (timerError) throw timerError;

  function noteCutTcp(p: Packet): void {
    const addr = p.dstPort === wantPort ? p.dst() : p.src();
    if (opts.server && addr !== opts.server.addr) return;
    const e = cutTcp.get(addr);
    if (e) {
      e.packets++;
      e.last = p.frame.number;
    } else if (cutTcp.size < 64) cutTcp.set(addr, { packets: 1, first: p.frame.number, last: p.frame.number, capLen: p.frame.capLen });
  }

  /**
   * An ICMP error whose quote the snaplen cut before the ports: it is about the connection of the host it
   * is sent to that is waiting for an answer to its SYN (the most recent one, within a few seconds).
   */
  function fileCutIcmp(p: Packet, time: number): void {
    const to = p.dst();
    const q = p.quoted;
    const quotedSrc = q.ipVersion === 4 ? formatIPv4(p.tBuf, q.srcOff) : q.ipVersion === 6 && p.tCapLen >= 8 + 24 ? formatIPv6(p.tBuf, q.srcOff) : '';
    for (let i = tracker.all.length - 1; i >= 0; i--) {
      const c = tracker.all[i]!;
      if (c.client.addr !== to || c.orig.syn === 0 || c.resp.syn > 0 || time - c.end > 5) continue;
      if (quotedSrc && quotedSrc !== c.client.addr) continue;
      const v6 = p.transport === PROTO_ICMPV6;
      c.icmp.push({ frame: p.frame.number, time, from: p.src(), type: p.icmpType, code: p.icmpCode, v6, cut: true });
      c.event(p.frame.number, time, 's', `ICMP${v6 ? 'v6' : ''} type ${p.icmpType} code ${p.icmpCode} from ${p.src()} (its quote cut by the snaplen)`);
      return;
    }
  }

  function fileIcmp(p: Packet, time: number): void {
    const q = p.quoted;
    const v6 = q.ipVersion === 6;
    const fmt = v6 ? formatIPv6 : formatIPv4;
    const qs = fmt(p.tBuf, q.srcOff);
    const qd = fmt(p.tBuf, q.dstOff);
    let c = tracker.findQuoted(qs, q.srcPort, qd, q.dstPort);
    if (!c) {
      // the quoted SYN itself was not captured: the ICMP error alone tells of the attempt
      c = new Connection();
      c.id = tracker.nextId();
      c.client = { addr: qs, port: q.srcPort };
      c.server = { addr: qd, port: q.dstPort };
      c.ipVersion = q.ipVersion;
      c.orig.syn = 1;
      c.firstFrame = p.frame.number;
      c.start = time;
      c.startEpoch = p.frame.timeEpoch();
      tracker.all.push(c);
    }
    c.lastFrame = Math.max(c.lastFrame, p.frame.number);
    c.end = Math.max(c.end, time);
    c.icmp.push({ frame: p.frame.number, time, from: p.src(), type: p.icmpType, code: p.icmpCode, v6 });
    c.event(p.frame.number, time, 's', `ICMP${v6 ? 'v6' : ''} type ${p.icmpType} code ${p.icmpCode} from ${p.src()}`);
  }

  /** judge a connection, keep its summary, let go of everything else */
  function finalize(c: Connection): void {
    if (c.entry === null && c.dropped) return;
    const s = sessions.get(c) ?? null;
    c.finish();
    s?.end();
    const isProxy = s?.proxy != null;
    const wanted = !c.dropped && (isProxy || interesting(c)) && !(isProxy && opts.server && (normHost(s!.proxy!.host) !== opts.server.addr || s!.proxy!.port !== wantPort));
    // stray packets of a connection already judged (a late ACK or RST) are not a connection of their own
    const stray = c.midstream && c.orig.payloadBytes + c.resp.payloadBytes === 0 && c.icmp.length === 0;
    if (wanted && !stray) {
      // the first maxConnections this part judges may be listed: built in full. A connection neither
      // listed nor streamed out only counts in its server's verdict: no result, no evidence text, no
      // per-direction facts are built for it (the server quotes listed ones' evidence)
      const lean = judgedCount >= maxDetailed && !opts.onConnection;
      const f = judgeConnection(c, s ?? new Session(c), !lean);
      if (s?.decryptor && s.decryptor.records > 0) {
        keyConns++;
        if (s.decryptor.decrypted > 0) keyDecrypted++;
      }
      judgedCount++;
      const r = lean ? null : toResult(c, s, f, inputName);
      const h = f.http.find((x) => x.error);
      shard.onJudged({
        frame: kFrame,
        phase: kPhase,
        sub: kPhase === 0 || kPhase === 2 ? c.closeFrame : c.firstFrame,
        r,
        j: {
          firstFrame: c.firstFrame,
          start: c.start,
          reason: f.reason,
          verdict: f.verdict,
          summary: f.summary,
          singleExchange: f.singleExchange,
          requestBytes: f.exchanges[0]?.requestBytes ?? -1,
          responseBytes: f.exchanges[0]?.responseBytes ?? -1,
          requestWhole: !f.exchanges[0]?.requestLost,
          responseWhole: !f.exchanges[0]?.responseLost,
          httpError: h ? { status: h.status, error: h.error, description: h.description } : null,
          clientAddr: c.client.addr,
          clientPort: c.client.port,
          serverAddr: c.server.addr,
          serverPort: c.server.port,
          target: s?.proxy ? s.proxy.target : null,
          connState: c.connState,
          proxyTarget: s?.proxy ? { host: normHost(s.proxy.host), port: s.proxy.port } : null,
        },
      });
    } else if (s?.clientKind === 'connect' && !s.proxy && c.orig.stream.stats.snaplenBytes > 0 && blindLegs.length < MAX_BLIND_LEGS) {
      // a CONNECT whose request line the snaplen cut before its target: a leg judged without its text
      const leg = blindLeg(c, true);
      if (leg) blindLegs.push(leg);
    }
    sessions.delete(c);
    tracker.retire(c);
  }

  kFrame = END_FRAME;
  kPhase = 2;
  for (const c of closedQueue.splice(0)) finalize(c);
  kPhase = 3;
  for (const c of [...tracker.all]) if (!c.dropped) finalize(c);
  const part: PartState = {
    input: {
      path: inputName,
      format: summary.format,
      compression: summary.compression,
      link_types: summary.linkTypes.map((l) => ({ link_type: l.linkType, name: linkTypeName(l.linkType), frames: l.frames })),
      packets: summary.frames,
      bytes: summary.bytes,
      error: summary.error ? summary.error.toJSON() : null,
      readable: summary.readable,
    },
    error: errorInit(summary.error),
    unanswered: first ? neighbors.unanswered() : [],
    cutTcp: [...cutTcp],
    keylog: keyLog.sources.length > 0 || keyLog.problems.length > 0 ? { sources: keyLog.sources, problems: keyLog.problems } : null,
    keyConns,
    keyDecrypted,
    checksums: sharded ? ledger.export() : EMPTY_LEDGER,
    blindLegs,
  };
  return { part, ledger, error: summary.error };
}

/** the analysis of a capture from its parts (one, or one per shard) and the collector that took their connections */
export function finishAnalysis(collector: Collector, parts: PartState[], opts: AnalyzeOptions, checksums: ChecksumSummaryLine[], error: CaptureError | null): CaptureAnalysis {
  const port = opts.port ?? 8443;
  const wantPort = opts.server?.port ?? port;
  const head = parts[0]!;
  const inputName = head.input.path;
  const listed = collector.listed;
  const serverJudge = collector.servers;
  // packets whose TCP headers the snaplen cut, per server address, over every part (in order of the first)
  const cutTcp = new Map<string, CutTcp>();
  for (const part of parts) {
    for (const [addr, e] of part.cutTcp) {
      const m = cutTcp.get(addr);
      if (!m) cutTcp.set(addr, { ...e });
      else {
        m.packets += e.packets;
        if (e.first < m.first) {
          m.first = e.first;
          m.capLen = e.capLen;
        }
        m.last = Math.max(m.last, e.last);
      }
    }
  }
  if (parts.length > 1) {
    const sorted = [...cutTcp].sort((a, b) => a[1].first - b[1].first);
    cutTcp.clear();
    for (const [k, v] of sorted) cutTcp.set(k, v);
  }
  let keyConns = 0;
  let keyDecrypted = 0;
  for (const part of parts) {
    keyConns += part.keyConns;
    keyDecrypted += part.keyDecrypted;
  }
  listed.sort((a, b) => a.first_frame - b.first_frame || a.id - b.id);
  // a direct connection from a proxy's address to a tunnel's target is the proxy's own leg: evidence for the tunnel
  for (const r of listed) if (r.role === 'direct' && serverJudge.isUpstream(hostOf(r.client), r.server)) r.role = 'proxy-upstream';

  const servers = serverJudge.results();
  const unanswered = head.unanswered;
  // the server named by --server never got a SYN because its address never resolved: that is the finding
  const srvAddr = opts.server?.addr;
  const silent = srvAddr !== undefined && !servers.some((x) => x.address === srvAddr) ? unanswered.find((n) => n.address === srvAddr) : undefined;
  if (silent) servers.unshift(unresolvedServer(silent, wantPort, inputName, false));
  else if (srvAddr === undefined && servers.length === 0 && cutTcp.size === 0) {
    // no TCP to the port at all, and one address asked for again and again (a resolution attempt is three
    // requests) without an answer: the client's connection to it never got as far as a SYN. Inferred: the
    // capture does not say that this address is the server's
    const n = unanswered.find((x) => x.requests >= 3);
    if (n) servers.push(unresolvedServer(n, wantPort, inputName, true));
  }
  // a server whose packets are all there but whose TCP headers the snaplen cut: say so, not "no traffic"
  for (const [addr, e] of cutTcp) {
    if (servers.some((x) => x.address === addr && x.port === wantPort)) continue;
    servers.push({
      input: inputName,
      address: addr,
      port: wantPort,
      verdict: 'inconclusive',
      reason: 'capture-incomplete',
      summary: `${e.packets} packets to or from ${hostPort(addr, wantPort)} whose TCP headers the snaplen cut (${e.capLen} bytes captured per frame): flags and sequence numbers are not in the capture; capture again with -s 128 or more`,
      hint: HINTS['capture-incomplete'],
      connections: [],
      connection_count: 0,
      evidence: [{ frame: e.first, text: `TCP header cut by the snaplen (${e.capLen} bytes captured)` }],
    });
  }
  inferBlindProxyLegs(parts.flatMap((p) => p.blindLegs).sort((a, b) => a.firstFrame - b.firstFrame), listed, servers, inputName, wantPort);
  return {
    input: {
      ...head.input,
      connections_total: collector.judged,
      connections_omitted: collector.judged - listed.length,
      unanswered_neighbors: unanswered,
      ...(head.keylog ? { keylog: { sources: head.keylog.sources, problems: head.keylog.problems, connections: keyConns, decrypted_connections: keyDecrypted } } : {}),
    },
    servers,
    connections: listed,
    checksums,
    error,
  };
}

/**
 * Proxy legs the capture shows without their text (see BlindLeg). One during which the proxy itself
 * opened a connection to the port that failed, and that ended with the proxy's answer, is a CONNECT the
 * proxy could not carry out: the target's verdict is proxy-upstream-failed, the proxy's own connection
 * its evidence. With no connection to the port in the capture at all, a leg the proxy answered and closed
 * without connecting anywhere is a refused CONNECT (to a target the capture does not name).
 */
function inferBlindProxyLegs(legs: BlindLeg[], listed: ConnectionResult[], servers: ServerResult[], input: string, port: number): void {
  const used = new Set<BlindLeg>();
  for (const leg of legs) {
    if (leg.afterBytes > 0) continue;
    const up = listed.find((r) => r.role === 'direct' && hostOf(r.client) === leg.proxyAddr && r.first_frame > leg.requestFrame && r.first_frame < leg.responseFrame && r.verdict === 'transport');
    if (!up) continue;
    const srv = servers.find((x) => hostPort(x.address, x.port) === up.server && x.input === input);
    if (!srv || srv.reason === 'proxy-upstream-failed') continue;
    up.role = 'proxy-upstream';
    used.add(leg);
    const via = hostPort(leg.proxyAddr, leg.proxyPort);
    srv.verdict = 'transport';
    srv.reason = 'proxy-upstream-failed';
    srv.summary = `${leg.client} asks the proxy ${via} (${leg.requestBytes} bytes, a CONNECT; its text is not in the capture); the proxy's own connection to ${up.server} fails (${up.reason}) and the proxy answers (${leg.responseBytes} bytes) and no tunnel follows: the proxy could not reach ${up.server} (inferred: the status line, a 502 or 504, is not captured)`;
    srv.hint = HINTS['proxy-upstream-failed'];
    srv.evidence = [
      { frame: leg.requestFrame, text: `${leg.client} -> ${via}: ${leg.requestBytes} bytes (the CONNECT request, not captured)` },
      ...srv.evidence,
      { frame: leg.responseFrame, text: `${via} answers ${leg.responseBytes} bytes, then ${leg.connState} ${leg.history}: no tunnel` },
    ].sort((a, b) => a.frame - b.frame);
  }
  if (servers.length > 0) return;
  const leg = legs.find((l) => !used.has(l) && l.afterBytes === 0);
  if (!leg) return;
  const via = hostPort(leg.proxyAddr, leg.proxyPort);
  servers.push({
    input,
    address: leg.proxyAddr,
    port: leg.proxyPort,
    verdict: 'transport',
    reason: 'proxy-refused',
    summary: `no connection to port ${port} in the capture; ${leg.client} asks ${via}, ${leg.connect ? 'a CONNECT whose target the snaplen cut' : 'a usual HTTP proxy port'} (${leg.requestBytes} bytes, its text not captured), and the proxy answers (${leg.responseBytes} bytes) without connecting anywhere, and no tunnel follows: the proxy refused the CONNECT (inferred: most often 407 Proxy Authentication Required or 403 by policy; capture the payload, e.g. tcpdump -s 0 -w, to read the status line and the target)`,
    hint: HINTS['proxy-refused'],
    connections: [],
    connection_count: 0,
    evidence: [
      { frame: leg.requestFrame, text: `${leg.client} -> ${via}: ${leg.requestBytes} bytes (a CONNECT request, not captured)` },
      { frame: leg.responseFrame, text: `${via} answers ${leg.responseBytes} bytes, then ${leg.connState} ${leg.history}: no tunnel, no connection onwards` },
    ],
  });
}

const ETH_ARP = 0x0806;

/** a server whose address never resolved on the client's subnet: the SYN never left */
function unresolvedServer(n: UnansweredNeighbor, port: number, input: string, inferred: boolean): ServerResult {
  const how = n.protocol === 'arp' ? 'ARP requests' : 'IPv6 neighbor solicitations';
  const guess = inferred ? ` (inferred: nothing in the capture went to port ${port}; run with --server ADDR if the SSM On-Prem server is another address)` : '';
  return {
    input,
    address: n.address,
    port,
    verdict: 'transport',
    reason: 'no-response',
    summary: `${n.requests} ${how} from ${n.asker} for ${n.address} over ${n.duration.toFixed(1)} s, never answered: the host is down or not on this subnet, so no SYN to port ${port} ever left${guess}`,
    hint: HINTS['no-response'],
    connections: [],
    connection_count: 0,
    evidence: [
      { frame: n.first_frame, text: `${n.protocol === 'arp' ? 'ARP who-has' : 'neighbor solicitation for'} ${n.address} from ${n.asker}` },
      { frame: n.last_frame, text: `the last of ${n.requests}; no answer in the capture` },
    ],
  };
}

function isUnreachable(p: Packet): boolean {
  return p.transport === PROTO_ICMP ? p.icmpType === 3 || p.icmpType === 11 : p.icmpType === 1 || p.icmpType === 3;
}

function normHost(h: string): string {
  return h.replace(/^\[|\]$/g, '').toLowerCase();
}

function toResult(c: Connection, s: Session | null, f: ConnFinding, input: string): ConnectionResult {
  const proxy = s?.proxy ?? null;
  const ct = s?.clientTls;
  const st = s?.serverTls;
  const hasTls = !!ct && (ct.recordCount > 0 || (st?.recordCount ?? 0) > 0);
  const cert = st?.certificates[0];
  return {
    id: c.id,
    input,
    client: hostPort(c.client.addr, c.client.port),
    server: proxy ? proxy.target : hostPort(c.server.addr, c.server.port),
    proxy: proxy ? hostPort(c.server.addr, c.server.port) : null,
    target: proxy ? proxy.target : null,
    role: proxy ? 'proxy-tunnel' : 'direct',
    conn_state: c.connState,
    history: c.history,
    first_frame: c.firstFrame,
    last_frame: c.lastFrame,
    start: c.startEpoch,
    duration: Number(c.duration.toFixed(6)),
    packets: { orig: c.orig.packets, resp: c.resp.packets },
    bytes: { orig: c.orig.payloadBytes, resp: c.resp.payloadBytes },
    retransmissions: { orig: c.orig.stream.stats.retransmissions, resp: c.resp.stream.stats.retransmissions },
    tcp: { orig: dirFacts(c.orig), resp: dirFacts(c.resp) },
    syn_ack_rtt: c.synAckRtt >= 0 ? Number(c.synAckRtt.toFixed(6)) : null,
    ack_rtt: c.ackRtt >= 0 ? Number(c.ackRtt.toFixed(6)) : null,
    midstream: c.midstream,
    verdict: f.verdict,
    reason: f.reason,
    summary: f.summary,
    inferred: f.inferred,
    evidence: f.evidence.sort((a, b) => a.frame - b.frame),
    tls: hasTls
      ? {
          version: f.tlsVersion,
          sni: ct?.clientHello?.sni ?? null,
          handshake_complete: f.handshakeComplete,
          alerts: [...(ct?.alerts ?? []).map((a) => `client ${a.name}`), ...(st?.alerts ?? []).map((a) => `server ${a.name}`)],
          certificate: cert ? { subject: cert.subject, issuer: cert.issuer, not_after: cert.validTo } : null,
          ...(s?.decryptor && s.decryptor.records > 0 ? { decrypted: s.decryptor.summary() } : {}),
        }
      : null,
    http: f.http,
    exchanges: f.exchanges.map((e) => ({ request_frame: e.requestFrame, request_bytes: e.requestBytes, response_frame: e.responseFrame, response_bytes: e.responseBytes })),
    payload_cut: f.payloadCut,
    ladder: buildLadder(c, s),
  };
}

