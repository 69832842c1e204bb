/**
 * The one redaction step on the way out of every output: Smart Account credentials travel in the token
 * URL (client_id, client_secret, username, password), tokens in answers, credentials in
 * (Proxy-)Authorization headers and in proxy URLs (user:password@host). Values are replaced by *** with
 * the key kept; client_id is shortened to its first 6 characters (enough to tell which grant was sent).
 * The forms they are printed in: URLs and form bodies (also URL-encoded inside another parameter), JSON
 * (plain, escaped inside a string, cut short by a line limit), Java's Map.toString ({key=value, ...}),
 * Python's dict repr ({'key': 'value'}), and `key: value` / `key = value` lines.
 */
const SECRET_KEYS = ['client_secret', 'password', 'access_token', 'refresh_token', 'id_token', 'assertion'];
const keyAlt = SECRET_KEYS.join('|');

// a key starts after anything but a letter or digit (so proxy_password is one too), or after an
// URL-encoded separator (%26 &, %3F ?, %20 space, %2C ,)
const KEY_START = '(?:(?<![A-Za-z0-9])|(?<=%26|%3[Ff]|%20|%2[Cc]))';
// key=value: the value ends at &, #, a quote, white space, or a comma or closing bracket followed by
// space or the end ({key=value, other=x} from Map.toString)
const EQ_VALUE = `((?:[^&\\s"'#,}\\])]|[,}\\])](?![\\s,]|$))*)`;
const FORM_SECRET = new RegExp(`${KEY_START}(${keyAlt})=${EQ_VALUE}`, 'gi');
const FORM_CLIENT_ID = new RegExp(`${KEY_START}(client_id)=((?:[^&\\s"'#,}\\])]|[,}\\])](?![\\s,]|$)){0,6})${EQ_VALUE}`, 'gi');
// key%3Dvalue inside an URL-encoded parameter: the value ends at %26 (&) or %23 (#)
const ENC_VALUE = `((?:[^&\\s"'#%,]|%(?!26|23)[0-9A-Fa-f]{2})*)`;
const ENC_SECRET = new RegExp(`${KEY_START}(${keyAlt})%3[Dd]${ENC_VALUE}`, 'gi');
const ENC_CLIENT_ID = new RegExp(`${KEY_START}(client_id)%3[Dd]((?:[^&\\s"'#%,]|%(?!26|23)[0-9A-Fa-f]{2}){0,6})${ENC_VALUE}`, 'gi');
// key: value and key = value (logs, YAML, properties): an unquoted value up to white space or a separator
const COLON_SECRET = new RegExp(`${KEY_START}(${keyAlt})(\\s*:\\s*|\\s+=\\s*)(?!["'\\\\]|\\*\\*\\*)([^\\s"',;&}\\])]+)`, 'gi');
const COLON_CLIENT_ID = /(?<![A-Za-z0-9])(client_id)(\s*:\s*|\s+=\s*)(?!["'\\])([^\s"',;&}\])]{0,6})([^\s"',;&}\])]*)/gi;
// "key": "value" in JSON (escaped quotes too, as inside a JSON string), "key"=>"value" (Ruby, in Rails
// logs) and 'key': 'value' (Python). A value the text cuts before its closing quote runs to the end: a cut
// line never leaks the rest. In plain JSON a value ends at an unescaped quote (\" is part of it); inside
// a JSON string (escaped JSON) the key's quotes are \" and so is the value's end.
const JSON_SECRET = new RegExp(`("(?:${keyAlt})"\\s*(?::|=>)\\s*")((?:[^"\\\\]|\\\\.|\\\\$)*)("|$)`, 'gi');
const JSON_SECRET_ESC = new RegExp(`(\\\\"(?:${keyAlt})\\\\"\\s*(?::|=>)\\s*\\\\")((?:[^"\\\\]|\\\\[^"]|\\\\$)*)(\\\\"|$)`, 'gi');
const PY_SECRET = new RegExp(`('(?:${keyAlt})'\\s*(?::|=>)\\s*')((?:[^'\\\\]|\\\\.|\\\\$)*)('|$)`, 'gi');
const JSON_CLIENT_ID = /("client_id"\s*(?::|=>)\s*")((?:[^"\\]|\\.){0,6})((?:[^"\\]|\\.|\\$)*)("|$)/gi;
const JSON_CLIENT_ID_ESC = /(\\"client_id\\"\s*(?::|=>)\s*\\")((?:[^"\\]|\\[^"]){0,6})((?:[^"\\]|\\[^"]|\\$)*)(\\"|$)/gi;
const PY_CLIENT_ID = /('client_id'\s*(?::|=>)\s*')((?:[^'\\]|\\.){0,6})((?:[^'\\]|\\.|\\$)*)('|$)/gi;
const AUTH_HEADER = /\b((?:Proxy-)?Authorization)(\s*:\s*)([^\r\n"\\]+)/gi;
// scheme://user:password@host (a proxy URL with its credentials)
const URL_USERINFO = /(\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/:@"'<>]*:)([^\s/@"'<>]+)(@)/g;

// every pattern below needs one of these: a text without any is returned as it is, in one scan
const ANY_KEY = new RegExp(`${keyAlt}|client_id|authorization|://`, 'i');

const keepKey = (_m: string, key: string, v: string) => `${key}=${v ? '***' : ''}`;
const keepKeyEnc = (m: string, key: string, v: string) => `${key}${m.slice(key.length, key.length + 3)}${v ? '***' : ''}`;
const quoted = (_m: string, pre: string, v: string, post: string) => `${pre}${v ? '***' : ''}${post}`;
const quotedId = (_m: string, pre: string, keep: string, rest: string, post: string) => `${pre}${keep}${rest ? '***' : ''}${post}`;

export function redact(text: string): string {
  if (!ANY_KEY.test(text)) return text;
  return text
    .replace(FORM_SECRET, keepKey)
    .replace(FORM_CLIENT_ID, (_m, key: string, keep: string, rest: string) => `${key}=${keep}${rest ? '***' : ''}`)
    .replace(ENC_SECRET, keepKeyEnc)
    .replace(ENC_CLIENT_ID, (m: string, key: string, keep: string, rest: string) => `${key}${m.slice(key.length, key.length + 3)}${keep}${rest ? '***' : ''}`)
    .replace(JSON_SECRET, quoted)
    .replace(JSON_SECRET_ESC, quoted)
    .replace(PY_SECRET, quoted)
    .replace(JSON_CLIENT_ID, quotedId)
    .replace(JSON_CLIENT_ID_ESC, quotedId)
    .replace(PY_CLIENT_ID, quotedId)
    .replace(COLON_SECRET, (_m, key: string, sep: string) => `${key}${sep}***`)
    .replace(COLON_CLIENT_ID, (_m, key: string, sep: string, keep: string, rest: string) => `${key}${sep}${keep}${rest ? '***' : ''}`)
    .replace(AUTH_HEADER, (_m, key: string, sep: string, v: string) => {
      const scheme = /^(Basic|Bearer|Digest|Negotiate|NTLM)\s/i.exec(v);
      return `${key}${sep}${scheme ? scheme[1] + ' ' : ''}***`;
    })
    .replace(URL_USERINFO, '$1***$3');
}
