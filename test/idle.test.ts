/**
 * Connections whose end the capture never shows must not pile up: the tracker forgets or judges them
 * after a time without packets (Zeek's inactivity timeouts), so memory follows open connections over a
 * capture of any length.
 */
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/index.js';
import { writePcap, type PcapRecord } from './helpers/capture-writer.js';
import { ACK, bytesOf, FIN, PSH, RST, SYN, tcp4 } from './helpers/frames.js';

const tcp = (src: number, dst: number, sport: number, dport: number, flags: number, seq: number, ack: number, payload?: Uint8Array) => tcp4(src, dst, sport, dport, flags, seq, ack, { payload });

const CLIENT = 0x0a000001;
const SSH = 0x0a000002;
const SSM = 0x0a000003;

/** one SSH connection per second for `n` seconds, each followed by the client's last ACK after both FINs */
function sshChurn(n: number, t0: number): PcapRecord[] {
  const recs: PcapRecord[] = [];
  const hello = new TextEncoder().encode('SSH-2.0-OpenSSH_9.2\r\n');
  for (let k = 0; k < n; k++) {
    const port = 30000 + (k % 30000);
    const at = (dt: number, data: Uint8Array) => recs.push({ sec: t0 + k, frac: dt, data });
    at(0, tcp(CLIENT, SSH, port, 22, SYN, 1000, 0));
    at(10, tcp(SSH, CLIENT, 22, port, SYN | ACK, 5000, 1001));
    at(20, tcp(CLIENT, SSH, port, 22, ACK, 1001, 5001));
    at(30, tcp(CLIENT, SSH, port, 22, PSH | ACK, 1001, 5001, hello));
    at(40, tcp(CLIENT, SSH, port, 22, FIN | ACK, 1001 + hello.length, 5001));
    at(50, tcp(SSH, CLIENT, 22, port, FIN | ACK, 5001, 1002 + hello.length));
    // the last ACK comes after the connection closed: once, it started a connection that never ended
    at(60, tcp(CLIENT, SSH, port, 22, ACK, 1002 + hello.length, 5002));
  }
  return recs;
}

describe('inactivity timeouts keep the connection table to what is open', () => {
  it('stray ACKs after other ports\' connections closed do not pile up over a long capture', async () => {
    const w = writePcap({}, sshChurn(3000, 1_700_000_000));
    const tracked: number[] = [];
    const a = await analyzeCapture(bytesOf(w.bytes), { name: 'churn.pcap', onTracked: (n) => tracked.push(n) });
    expect(tracked.length).toBeGreaterThan(100);
    // one connection a second, forgotten after 60 s without packets: never more than about a minute's worth
    expect(Math.max(...tracked)).toBeLessThan(100);
    expect(a.servers).toHaveLength(0);
  });

  it('a connection to the port silent for 5 minutes is judged then, with what it showed; a late packet does not join it', async () => {
    const t0 = 1_700_000_000;
    const recs: PcapRecord[] = [
      { sec: t0, frac: 0, data: tcp(CLIENT, SSM, 40001, 8443, SYN, 100, 0) },
      { sec: t0, frac: 1000, data: tcp(SSM, CLIENT, 8443, 40001, SYN | ACK, 900, 101) },
      { sec: t0, frac: 2000, data: tcp(CLIENT, SSM, 40001, 8443, ACK, 101, 901) },
      // background traffic keeps the capture's clock going
      ...sshChurn(400, t0 + 1),
      { sec: t0 + 420, frac: 0, data: tcp(SSM, CLIENT, 8443, 40001, RST | ACK, 901, 101) },
    ];
    recs.sort((x, y) => x.sec - y.sec || x.frac - y.frac);
    const w = writePcap({}, recs);
    const judgedAt: number[] = [];
    let last = 0;
    const a = await analyzeCapture(bytesOf(w.bytes), {
      name: 'idle.pcap',
      onTracked: () => last++,
      onConnection: () => judgedAt.push(last),
    });
    expect(a.connections).toHaveLength(1);
    const first = a.connections[0]!;
    // judged at the sweep after 300 s of silence, long before the capture ended
    expect(judgedAt[0]).toBeLessThan(last - 5);
    expect(first.conn_state).toBe('S1');
    // the late RST did not join it: a stray packet of a connection already judged is not reported
    expect(first.last_frame).toBe(3);
    expect(first.history).not.toContain('r');
  });
});
