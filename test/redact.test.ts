/**
 * The one redaction step, on the forms secrets take in URLs, form bodies, JSON (plain, escaped inside a
 * string, cut short by a line limit) and headers.
 */
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
  ])('%s', (input, want) => {
    expect(redact(input)).toBe(want);
  });
});
