/**
 * The one redaction step on the way out of every output: Smart Account credentials travel in the token
 * URL (client_id, client_secret, username, password), tokens in answers, credentials in
 * (Proxy-)Authorization headers. Values are replaced by *** with the key kept; client_id is shortened to
 * its first 6 characters (enough to tell which grant was sent). URL-encoded and JSON forms included.
 */
const SECRET_KEYS = ['client_secret', 'password', 'access_token', 'refresh_token', 'id_token', 'assertion'];
const keyAlt = SECRET_KEYS.join('|');

// key=value in URLs and form bodies (also URL-encoded: client%5Fsecret is rare; key names are plain)
const FORM_SECRET = new RegExp(`(^|[?&;\\s"'])(${keyAlt})=([^&\\s"'#]*)`, 'gi');
const FORM_CLIENT_ID = /(^|[?&;\s"'])(client_id)=([^&\s"'#]{0,6})([^&\s"'#]*)/gi;
// "key": "value" in JSON (escaped quotes too, as inside a JSON string), and "key"=>"value" (Ruby, in Rails logs)
// (a value the text cuts before its closing quote runs to the end: a cut line never leaks the rest)
// In plain JSON a value ends at an unescaped quote (\" is part of it); inside a JSON string (escaped
// JSON) the key's quotes are \" and so is the value's end.
const JSON_SECRET = new RegExp(`("(?:${keyAlt})"\\s*(?::|=>)\\s*")((?:[^"\\\\]|\\\\.|\\\\$)*)("|$)`, 'gi');
const JSON_SECRET_ESC = new RegExp(`(\\\\"(?:${keyAlt})\\\\"\\s*(?::|=>)\\s*\\\\")((?:[^"\\\\]|\\\\[^"]|\\\\$)*)(\\\\"|$)`, 'gi');
const JSON_CLIENT_ID = /("client_id"\s*(?::|=>)\s*")((?:[^"\\]|\\.){0,6})((?:[^"\\]|\\.|\\$)*)("|$)/gi;
const JSON_CLIENT_ID_ESC = /(\\"client_id\\"\s*(?::|=>)\s*\\")((?:[^"\\]|\\[^"]){0,6})((?:[^"\\]|\\[^"]|\\$)*)(\\"|$)/gi;
const AUTH_HEADER = /\b((?:Proxy-)?Authorization)(\s*:\s*)([^\r\n"\\]+)/gi;

// every pattern below needs one of these words: a text without any is returned as it is, in one scan
const ANY_KEY = new RegExp(`${keyAlt}|client_id|authorization`, 'i');

export function redact(text: string): string {
  if (!ANY_KEY.test(text)) return text;
  return text
    .replace(FORM_SECRET, (_m, pre: string, key: string, v: string) => `${pre}${key}=${v ? '***' : ''}`)
    .replace(FORM_CLIENT_ID, (_m, pre: string, key: string, keep: string, rest: string) => `${pre}${key}=${keep}${rest ? '***' : ''}`)
    .replace(JSON_SECRET, (_m, pre: string, v: string, post: string) => `${pre}${v ? '***' : ''}${post}`)
    .replace(JSON_SECRET_ESC, (_m, pre: string, v: string, post: string) => `${pre}${v ? '***' : ''}${post}`)
    .replace(JSON_CLIENT_ID, (_m, pre: string, keep: string, rest: string, post: string) => `${pre}${keep}${rest ? '***' : ''}${post}`)
    .replace(JSON_CLIENT_ID_ESC, (_m, pre: string, keep: string, rest: string, post: string) => `${pre}${keep}${rest ? '***' : ''}${post}`)
    .replace(AUTH_HEADER, (_m, key: string, sep: string, v: string) => {
      const scheme = /^(Basic|Bearer|Digest|Negotiate|NTLM)\s/i.exec(v);
      return `${key}${sep}${scheme ? scheme[1] + ' ' : ''}***`;
    });
}
