/**
 * Log lines' time stamps in the documented formats, for tests that build logs aligned with a capture's
 * connections (capture time t in seconds since the epoch, UTC).
 */
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** vManage: 13-Jan-2023 17:29:03,490 IST (the wall time in +05:30 by default) */
export function vmStamp(t: number, offMin = 330, abbr = 'IST'): string {
  const d = new Date(Math.round((t + offMin * 60) * 1000));
  return `${p2(d.getUTCDate())}-${MON[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())},${String(d.getUTCMilliseconds()).padStart(3, '0')} ${abbr}`;
}

/** syslog: Jan 13 11:17:01 (UTC, no year) */
export function sysStamp(t: number): string {
  const d = new Date(Math.floor(t) * 1000);
  return `${MON[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

/** nginx: 13/Jan/2023:11:17:01 +0000 */
export function ngxStamp(t: number): string {
  const d = new Date(Math.floor(t) * 1000);
  return `${p2(d.getUTCDate())}/${MON[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
}

/** the token call's URI as vManage logs it, with credentials that must never reach an output */
export const TOKEN_URI = 'backend/oauth/token?grant_type=password&client_id=AbCdEfGhIjKlMnOp&client_secret=S3cr3tS3cr3tValue_abcdef&username=admin&password=Pa55word%21';
