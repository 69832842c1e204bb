/** The CLI as a user types it: packets and info on real captures, usage errors, stdin, exit codes. */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';

const cap = (n: string) => path.join(ROOT, 'captures', n);

// each test's processes are its own: the tests run at once
describe.concurrent('ssmcap packets', () => {
  it('prints one NDJSON record per frame with tshark field names', async () => {
    const r = await runCli(['packets', cap('a05-port-closed-rst.pcap')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs).toHaveLength(2);
    expect(recs[0]).toMatchObject({ 'frame.number': 1, 'ip.src': '127.0.0.2', 'ip.dst': '127.0.0.55', 'tcp.dstport': 8443, 'tcp.flags': 0x002, 'tcp.stream': 0 });
    expect(recs[1]).toMatchObject({ 'frame.number': 2, 'tcp.srcport': 8443, 'tcp.flags': 0x014, 'tcp.stream': 0 });
    expect(recs[0]['frame.time_epoch']).toMatch(/^\d+\.\d{9}$/);
    // only keys that apply: no UDP or ICMP keys on a TCP frame
    expect(Object.keys(recs[0]).some((k) => k.startsWith('udp.') || k.startsWith('icmp'))).toBe(false);
  });

  it('prints chosen fields as TSV like tshark -T fields', async () => {
    const r = await runCli(['packets', cap('a05-port-closed-rst.pcap'), '--format', 'tsv', '-e', 'frame.number', '-e', 'tcp.flags', '-e', 'tcp.checksum.status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('frame.number\ttcp.flags\ttcp.checksum.status\n1\t0x0002\tpartial\n2\t0x0014\tgood\n');
  });

  it('puts the packet an ICMP error quotes under icmp.quoted', async () => {
    const r = await runCli(['packets', cap('a07-icmp-admin-prohibited.pcap')]);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs[1]['icmp.type']).toBe(3);
    expect(recs[1]['icmp.code']).toBe(13);
    expect(recs[1]['icmp.quoted']).toMatchObject({ 'ip.src': '127.0.0.2', 'ip.dst': '127.0.0.55', 'tcp.dstport': 8443, 'tcp.seq': recs[0]['tcp.seq'] });
  });

  it('reads stdin with -, gzip detected by magic', async () => {
    const bytes = fs.readFileSync(cap('a01-healthy-tls12.pcap'));
    const plain = await runCli(['packets', '-'], { stdin: bytes });
    const gz = await runCli(['packets', '-'], { stdin: gzipSync(bytes) });
    expect(plain.code).toBe(0);
    expect(gz.code).toBe(0);
    expect(plain.stdout.trim().split('\n')).toHaveLength(20);
    expect(gz.stdout).toBe(plain.stdout);
  });

  it('is a usage error (exit 2) for a directory or several inputs, naming them', async () => {
    const d = await runCli(['packets', path.join(ROOT, 'captures')]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/captures is a directory/);
    const two = await runCli(['packets', cap('a05-port-closed-rst.pcap'), cap('a06-syn-dropped-filtered.pcap')]);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/one input/);
    const field = await runCli(['packets', cap('a05-port-closed-rst.pcap'), '--format', 'tsv', '-e', 'tcp.nonsense']);
    expect(field.code).toBe(2);
    expect(field.stderr).toMatch(/unknown field tcp\.nonsense/);
    for (const r of [d, two, field]) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 65 when no frame could be read, with one line naming the file', async () => {
    const r = await runCli(['packets', path.join(ROOT, 'package.json')]);
    expect(r.code).toBe(65);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ssmcap: .*package\.json: byte 0: unknown file format/);
    const missing = await runCli(['packets', path.join(ROOT, 'no-such.pcap')]);
    expect(missing.code).toBe(65);
    expect(missing.stderr).toMatch(/no-such\.pcap: byte 0: cannot read: no such file/);
  });
});

describe.concurrent('ssmcap info', () => {
  it('summarises every capture of a directory and says who computed which checksums', async () => {
    const r = await runCli(['info', path.join(ROOT, 'captures'), '--format', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const pcaps = fs.readdirSync(path.join(ROOT, 'captures')).filter((f) => f.endsWith('.pcap'));
    expect(doc.inputs).toHaveLength(pcaps.length);
    expect(doc.skipped).toBeGreaterThan(0); // the .keys, .tcpdump.txt and labels.json files
    const a21 = doc.inputs.find((i: { file: string }) => i.file.endsWith('a21-routed-healthy-tls12-java.pcap'));
    expect(a21.frames).toBe(24);
    expect(a21.synsToPort).toBe(1);
    expect(a21.checksums[0]).toMatchObject({ src: '127.10.1.2', finding: 'offload', partial: 13 });
  });

  it('text output names the offload host', async () => {
    const r = await runCli(['info', cap('a21-routed-healthy-tls12-java.pcap')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/13 of 14 packets sent by 127\.10\.1\.2 to 127\.20\.1\.55 carry offload checksums .*not an error/);
  });
});

describe('an -o that cannot be written', () => {
  it.each(['json', 'ndjson', 'text', 'html'])('%s: one line naming the file, exit 73, no stack trace', async (format) => {
    const r = await runCli(['analyze', path.join(ROOT, 'captures', 'a05-port-closed-rst.pcap'), '--format', format, '-o', '/nonexistent-dir/report.out']);
    expect(r.code).toBe(73);
    expect(r.stderr.trim()).toBe('ssmcap: cannot write /nonexistent-dir/report.out: no such directory');
  });
});
