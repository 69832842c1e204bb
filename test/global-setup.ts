/**
 * Build dist/ once before the tests that run the CLI, so they never test a stale build. The build (~6 s of
 * a run) is skipped when the last one this setup made succeeded and nothing it reads or wrote changed since:
 * no file under src/ and no build setting is newer than its start, every source has its .js, and no file
 * in dist/ was written after it (a hand-edited or half-rebuilt dist/ is rebuilt). CI, or SSMCAP_REBUILD=1,
 * always builds.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

interface Stamp {
  /** when the build started (ms since the epoch) */
  started: number;
  /** when it ended */
  ended: number;
}

function files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile());
}

function upToDate(root: string, stampFile: string): boolean {
  let stamp: Stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8')) as Stamp;
  } catch {
    return false;
  }
  const src = path.join(root, 'src');
  const dist = path.join(root, 'dist');
  const sources = files(src).filter((f) => f.endsWith('.ts'));
  const settings = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'].map((f) => path.join(root, f)).filter((f) => fs.existsSync(f));
  // directories too: a source removed or renamed changes its directory's time
  const dirs = (fs.readdirSync(src, { recursive: true }) as string[]).map((f) => path.join(src, f)).filter((f) => fs.statSync(f).isDirectory());
  for (const f of [...sources, ...settings, src, ...dirs]) if (fs.statSync(f).mtimeMs >= stamp.started) return false;
  for (const f of sources) if (!fs.existsSync(path.join(dist, path.relative(src, f)).replace(/\.ts$/, '.js'))) return false;
  for (const f of files(dist)) if (fs.statSync(f).mtimeMs > stamp.ended) return false;
  return true;
}

export default function setup(): void {
  const root = path.join(import.meta.dirname, '..');
  const stampFile = path.join(root, 'node_modules', '.cache', 'ssmcap-test-build.json');
  if (!process.env.CI && !process.env.SSMCAP_REBUILD && upToDate(root, stampFile)) return;
  fs.rmSync(stampFile, { force: true });
  const started = Date.now();
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  fs.mkdirSync(path.dirname(stampFile), { recursive: true });
  fs.writeFileSync(stampFile, JSON.stringify({ started, ended: Date.now() } satisfies Stamp) + '\n');
}
