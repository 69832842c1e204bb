/** The next step for each reason, in the words of vManage and SSM On-Prem. */
export type Verdict = 'healthy' | 'transport' | 'tls' | 'application' | 'inconclusive';

export type Reason =
  | 'ok'
  | 'refused'
  | 'no-response'
  | 'icmp-unreachable'
  | 'reset'
  | 'stalled'
  | 'proxy-auth-required'
  | 'proxy-upstream-failed'
  | 'proxy-refused'
  | 'untrusted-certificate'
  | 'protocol-version'
  | 'not-tls'
  | 'handshake-failure'
  | 'handshake-incomplete'
  | 'invalid-client'
  | 'invalid-grant'
  | 'auth-rejected'
  | 'http-error'
  | 'ssm-backend-failed'
  | 'no-server-traffic'
  | 'capture-incomplete';

export const VERDICT_OF: Record<Reason, Verdict> = {
  ok: 'healthy',
  refused: 'transport',
  'no-response': 'transport',
  'icmp-unreachable': 'transport',
  reset: 'transport',
  stalled: 'transport',
  'proxy-auth-required': 'transport',
  'proxy-upstream-failed': 'transport',
  'proxy-refused': 'transport',
  'untrusted-certificate': 'tls',
  'protocol-version': 'tls',
  'not-tls': 'tls',
  'handshake-failure': 'tls',
  'handshake-incomplete': 'tls',
  'invalid-client': 'application',
  'invalid-grant': 'application',
  'auth-rejected': 'application',
  'http-error': 'application',
  'ssm-backend-failed': 'application',
  'no-server-traffic': 'inconclusive',
  'capture-incomplete': 'inconclusive',
};

export const HINTS: Record<Reason, string> = {
  ok: 'Nothing to fix on the path: the TLS session completes and the token and API calls are answered. If vManage still reports a sync failure, look at vmanage-server.log for what it did with the answers.',
  refused:
    'The SSM On-Prem host answers but nothing listens on the port: check that SSM On-Prem is up and its web service listens on 8443 (on the SSM console: the service status), and that vManage points at the right address and port (Administration > Settings > License Reporting).',
  'no-response':
    'SYNs to the port go unanswered: a firewall or security group on the path silently drops them, or the address is not the SSM On-Prem server. Check the route from vManage VPN 0 and the firewall rules for TCP 8443 between vManage and SSM On-Prem; capture on the SSM side to see whether the SYNs arrive.',
  'icmp-unreachable':
    'A host on the path answers the SYN with ICMP destination unreachable: the ICMP sender named in the evidence rejects the connection (admin-prohibited: a firewall rule rejects TCP 8443; host/net unreachable: the router has no route; port unreachable: a REJECT rule). Fix the rule or the route on that device.',
  reset:
    'The connection is reset in the middle of the exchange: something between vManage and SSM On-Prem (a firewall, IPS or load balancer) or the SSM service itself aborts it. Check middlebox session logs for TCP 8443 and the SSM On-Prem service logs at that time.',
  stalled:
    'Large segments never get through while small ones do: a path-MTU black hole (ICMP fragmentation-needed blocked, or a tunnel with a smaller MTU). Clamp the TCP MSS on the path (e.g. ip tcp adjust-mss 1360 on the router interface), lower the MTU on vManage VPN 0, or allow ICMP type 3 code 4 back to vManage.',
  'proxy-auth-required':
    'The HTTP proxy answers 407 Proxy Authentication Required: enter the proxy user name and password in vManage (Administration > Settings > Proxy), or allow the vManage address on the proxy without authentication.',
  'proxy-upstream-failed':
    'The proxy accepted the CONNECT but could not reach SSM On-Prem (502/503/504): from the proxy host, check the route and firewall to the SSM On-Prem address and port 8443, and that SSM On-Prem listens there.',
  'proxy-refused':
    'The proxy refuses the CONNECT to SSM On-Prem (or resets it): allow CONNECT to the SSM On-Prem address and port 8443 in the proxy policy, or exempt SSM On-Prem from the proxy in vManage.',
  'untrusted-certificate':
    "vManage does not trust the SSM On-Prem server's certificate: import the SSM On-Prem CA (or its self-signed certificate) into vManage's trust store, or install on SSM On-Prem a certificate issued by a CA vManage trusts, with the host name vManage uses.",
  'protocol-version':
    'Client and server share no TLS version: vManage and SSM On-Prem must agree on TLS 1.2 or 1.3. Check the TLS settings of SSM On-Prem (and of any TLS-inspecting proxy) and the vManage release.',
  'not-tls':
    'One side does not speak TLS on this port: either vManage was pointed at a plain-HTTP service, or it sends plain HTTP to the HTTPS port. Use https://<SSM On-Prem>:8443 in vManage and check that SSM On-Prem serves HTTPS there.',
  'handshake-failure':
    'The TLS handshake is refused with a fatal alert: compare the cipher suites and extensions of the ClientHello with what SSM On-Prem accepts; check for a TLS-inspecting device in the path.',
  'handshake-incomplete':
    "The TCP connection opens but the TLS handshake never finishes and neither side says why: check that SSM On-Prem's web service is healthy (it accepts connections but does not answer), and for a middlebox holding the connection.",
  'invalid-client':
    "SSM On-Prem does not know the client ID/secret vManage sent (invalid_client, 'Grant not found'): in SSM On-Prem's API Toolkit create a Resource Owner Grant for the account, then enter the new Client ID and Client Secret in vManage (Administration > License Management > Smart Account credentials) and sync again.",
  'invalid-grant':
    'The client ID is known but the user name or password of the Smart Account is refused (invalid_grant): check the SSM On-Prem user and password entered in vManage, and that the user has access to the local account.',
  'auth-rejected':
    "The OAuth token call is refused (inferred: the answer is encrypted or cut): one request, one short answer, the connection closes and no API call follows. Most often the grant is wrong: in SSM On-Prem's API Toolkit create a Resource Owner Grant and enter the new Client ID and Secret in vManage. To see the exact error, capture with a full snaplen (-s 0) and a TLS key log, or read vmanage-server.log at that time.",
  'http-error':
    'SSM On-Prem answers the API call with an HTTP error: see the status and body in the evidence and the SSM On-Prem logs at that time.',
  'ssm-backend-failed':
    "SSM On-Prem's own front end (nginx) could not reach its backend application (connection refused, timed out, no live upstream): the network between vManage and SSM On-Prem is fine. On the SSM On-Prem host check and restart its services (the SSM On-Prem console or `docker ps` for the stopped containers; a reboot of the appliance brings them all up), look at /var/log/messages for why the backend stopped, then sync again.",
  'no-server-traffic':
    'The capture holds no connection to the SSM port: capture on vManage VPN 0 (eth0) while triggering a sync, with a filter on the SSM On-Prem address, and check --port and --server.',
  'capture-incomplete':
    'The capture does not show enough of the exchange to judge (it starts mid-connection or stops too early): capture from before the sync starts until it fails.',
};

export const ICMP_UNREACH_CODES: Record<number, string> = {
  0: 'net-unreachable',
  1: 'host-unreachable',
  2: 'protocol-unreachable',
  3: 'port-unreachable',
  4: 'fragmentation-needed',
  5: 'source-route-failed',
  6: 'dest-net-unknown',
  7: 'dest-host-unknown',
  9: 'net-admin-prohibited',
  10: 'host-admin-prohibited',
  11: 'net-tos-unreachable',
  12: 'host-tos-unreachable',
  13: 'admin-prohibited',
  14: 'host-precedence-violation',
  15: 'precedence-cutoff',
};

export const ICMP6_UNREACH_CODES: Record<number, string> = {
  0: 'no-route',
  1: 'admin-prohibited',
  2: 'beyond-scope',
  3: 'address-unreachable',
  4: 'port-unreachable',
  5: 'source-policy-failed',
  6: 'reject-route',
};

export function icmpName(type: number, code: number, v6: boolean): string {
  if (v6) {
    if (type === 1) return ICMP6_UNREACH_CODES[code] ?? `unreachable code ${code}`;
    if (type === 2) return 'packet-too-big';
    if (type === 3) return 'time-exceeded';
    return `icmpv6 type ${type} code ${code}`;
  }
  if (type === 3) return ICMP_UNREACH_CODES[code] ?? `unreachable code ${code}`;
  if (type === 11) return 'time-exceeded';
  return `icmp type ${type} code ${code}`;
}
