import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli.js';

/** one labelled sample capture of captures/labels.json */
export interface Label {
  file: string;
  verdict: string;
  subclass: string;
  server: { address: string; port: number };
}

export const labels = JSON.parse(fs.readFileSync(path.join(ROOT, 'captures', 'labels.json'), 'utf8')).captures as Label[];

/** the reason matches the label; auth-rejected stands for invalid-client/invalid-grant where the text is unseen */
export function reasonMatches(reason: string, l: Label): boolean {
  return reason === l.subclass || (reason === 'auth-rejected' && ['invalid-client', 'invalid-grant'].includes(l.subclass));
}
