/**
 * The one redaction step, on the forms secrets take in URLs, form bodies, JSON (plain, escaped inside a
 * string, cut short by a line limit) and headers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redact } from '../src/report/redact.js';

describe('redact', () => {
  it.each([
    ['POST /backend/oauth/token?grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t&username=u&password=p4ss', 'POST /backend/oauth/token?grant_type=password&client_id=abcdef***&client_secret=***&username=u&password=***'],
    ['{"access_token":"eyJhbGciOiJIUzI1NiJ9.x.y","token_type":"bearer"}', '{"access_token":"***","token_type":"bearer"}'],
    // a line cut inside the value: the rest of the text is the value
    ['{"error":"x","password":"abc', '{"error":"x","password":"***'],
    ['a {"client_id":"abcdefghijk', 'a {"client_id":"abcdef***'],
    // an escaped quote inside a plain JSON value is part of the value
    ['"password": "a\\"b", "ok": 1', '"password": "***", "ok": 1'],
    // JSON inside a JSON string: the key's quotes and the value's end are \"
    ['x {\\"client_id\\":\\"abcdefghij\\",\\"password\\":\\"pw\\"} y', 'x {\\"client_id\\":\\"abcdef***\\",\\"password\\":\\"***\\"} y'],
    ['{\\"password\\":\\"s3cr', '{\\"password\\":\\"***'],
    ['Proxy-Authorization: Basic dXNlcjpwYXNz', 'Proxy-Authorization: Basic ***'],
    ['{"password":"","x":1}', '{"password":"","x":1}'],
    // Java's Map.toString, Python's dict repr, a proxy URL, an URL-encoded token URL, key: value lines
    ['{client_id=abcdefghijk, client_secret=s3cr3t, proxy_password=p}', '{client_id=abcdef***, client_secret=***, proxy_password=***}'],
    ["{'client_id': 'abcdefghijk', 'password': 'p4ss'}", "{'client_id': 'abcdef***', 'password': '***'}"],
    ['via http://admin:p4ss@10.0.0.5:3128/', 'via http://admin:***@10.0.0.5:3128/'],
    ['next=%2Ftoken%3Fclient_id%3Dabcdefghijk%26client_secret%3Ds3cr3t%26a%3D1', 'next=%2Ftoken%3Fclient_id%3Dabcdef***%26client_secret%3D***%26a%3D1'],
    ['client_secret: s3cr3t', 'client_secret: ***'],
    ['https://[fd00::2]:8443/oauth/token', 'https://[fd00::2]:8443/oauth/token'],
  ])('%s', (input, want) => {
    expect(redact(input)).toBe(want);
  });
});

/**
 * Wherever a secret sits in a log line, a URL or a message (the forms vManage's Java logs, Python and
 * proxies print them in), the output holds none of it, and no more than six characters of a client_id.
 */
describe('redact (property)', () => {
  const value = fc.stringMatching(/^[A-Za-z0-9._~-]{10,40}$/);
  const forms: ((s: string, id: string) => string)[] = [
    (s, id) => `GET /oauth/token?grant_type=password&client_id=${id}&client_secret=${s}&username=admin&password=${s} HTTP/1.1`,
    (s, id) => `client_id=${id}&client_secret=${s}`,
    // Java's Map.toString and Python's dict repr
    (s, id) => `params: {client_id=${id}, client_secret=${s}, password=${s}}`,
    (s, id) => `params: {password=${s}, client_id=${id}}`,
    (s, id) => `[client_secret=${s}] (client_id=${id})`,
    (s, id) => `kwargs={'client_id': '${id}', 'client_secret': '${s}', 'password': '${s}'}`,
    (s, id) => `{"client_id": "${id}", "client_secret" : "${s}"}`,
    (s, id) => `body="{\\"client_id\\":\\"${id}\\",\\"password\\":\\"${s}\\"}"`,
    (s) => `{"access_token":"${s}","token_type":"bearer","expires_in":3600,"refresh_token":"${s}"}`,
    (s) => `Proxy-Authorization: Basic ${Buffer.from(`admin:${s}`).toString('base64')}`,
    (s) => `Authorization: Bearer ${s}`,
    // credentials in a proxy URL, and a token URL URL-encoded inside another parameter
    (s) => `using proxy http://admin:${s}@proxy.example.net:3128/ for ssm`,
    (s, id) => `redirect=https%3A%2F%2Fssm%2Foauth%2Ftoken%3Fclient_id%3D${id}%26client_secret%3D${s}%26x%3D1`,
    (s) => `client_secret: ${s}`,
    (s) => `password = ${s}`,
  ];
  it('leaves no secret and at most six characters of a client_id, in any of the forms they take', () => {
    fc.assert(
      fc.property(value, value, fc.integer({ min: 0, max: forms.length - 1 }), (secret, id, k) => {
        const out = redact(forms[k]!(secret, id));
        expect(out).not.toContain(secret);
        expect(out).not.toContain(id.slice(0, 7));
      }),
      { numRuns: 1000 },
    );
  });
});
