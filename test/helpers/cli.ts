import { spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.join(import.meta.dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** run the built CLI; `stdin` is written to its standard input (a Buffer) or closed */
export function runCli(args: string[], opts: { stdin?: Uint8Array; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', ...opts.env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => {});
    if (opts.stdin) child.stdin.end(opts.stdin);
    else child.stdin.end();
  });
}
