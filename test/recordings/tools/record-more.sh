#!/bin/bash
# More scenarios (r28-...): other clients' trust failures, mid-connection captures, a SYN lost once, a proxy on
# another port, servers that close or reset without answering, cooked SLL. Run by record-all.sh, or alone:
#   OUT_DIR=/tmp/rec ./record-more.sh [rNN ...]     (as root; only the named scenarios when given)
cd "$(dirname "$0")"
[ -f expired-cert.pem ] || python3 mkcerts.py
T='https://10.99.0.2:8443/backend/oauth/token?grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t&username=admin&password=Pa55word'
ONLY=("$@")
sel() { [ ${#ONLY[@]} -eq 0 ] && return 0; for w in "${ONLY[@]}"; do [[ $1 == $w* ]] && return 0; done; return 1; }
text() { tcpdump -nn -vv -r "$1" > "$1.tcpdump.txt" 2>/dev/null; }
O=${OUT_DIR:-.}
# node's https client checks the certificate after the handshake has completed, then destroys the socket:
# no alert, no request, the client closes (TLS 1.2 here; TLS 1.3 over IPv6 with an expired certificate below)
NODE_POST="const https=require('https');const q=https.request(process.argv[1],{method:'POST'},s=>{s.resume()});q.on('error',e=>console.log(e.code));q.end()"
sel r28 && { ./rec.sh r28-node-untrusted-tls12 tcpdump 262144 "10.99.0.2 8443 200 TLSv1.2" "node -e \"$NODE_POST\" '$T'"; text $O/r28-node-untrusted-tls12.pcap; }
sel r29 && { CERT=expired ./rec.sh r29-node-expired-v6-tls13 tcpdump 262144 "fd00:99::2 8443 200" "NODE_EXTRA_CA_CERTS=$PWD/expired-cert.pem node -e \"$NODE_POST\" 'https://[fd00:99::2]:8443/backend/oauth/token?client_id=abcdefghijk&client_secret=s3cr3t'"; text $O/r29-node-expired-v6-tls13.pcap; }
# Python's ssl (OpenSSL) checks during the handshake: a fatal alert (TLS 1.3 encrypted, TLS 1.2 in clear)
PYC="import socket,ssl,sys
ctx=ssl.create_default_context(cafile=sys.argv[1])
try:
  s=ctx.wrap_socket(socket.create_connection(('10.99.0.2',8443)),server_hostname='ssm-onprem.test')
  s.sendall(b'POST /backend/oauth/token?client_id=abcdefghijk HTTP/1.1\r\nHost: ssm-onprem.test\r\nContent-Length: 0\r\n\r\n'); print(s.recv(4096))
except Exception as e: print(e)"
sel r30 && { CERT=wronghost ./rec.sh r30-py-wronghost-tls13-sll sll 262144 "10.99.0.2 8443 200" "python3 -c \"$PYC\" $PWD/wronghost-cert.pem"; text $O/r30-py-wronghost-tls13-sll.pcap; }
sel r31 && { CERT=expired ./rec.sh r31-py-expired-tls12-pcapng dumpcap 262144 "10.99.0.2 8443 200 TLSv1.2" "python3 -c \"$PYC\" $PWD/expired-cert.pem"; text $O/r31-py-expired-tls12-pcapng.pcapng; }
# a healthy sync, one connection per call, the token call's body in the POST and the API calls with a bearer
# token: requests of about the same size; IPv6, tcpdump -i any (SLL2), -s 96
PYH="import ssl,urllib.request
ctx=ssl._create_unverified_context(); B='https://[fd00:99::2]:8443'
urllib.request.urlopen(urllib.request.Request(B+'/backend/oauth/token',data=b'grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t&username=admin&password=Pa55word',method='POST'),context=ctx).read()
for p in ['/backend/api/v1/licenses/usage','/backend/api/v1/licenses/count','/backend/api/v1/accounts/status']:
  urllib.request.urlopen(urllib.request.Request(B+p,headers={'Authorization':'Bearer '+'a'*40,'Accept':'application/json'}),context=ctx).read()"
sel r32 && { ./rec.sh r32-py-per-call-healthy-v6-any-s96 any 96 "fd00:99::2 8443 200" "python3 -c \"$PYH\""; text $O/r32-py-per-call-healthy-v6-any-s96.pcap; }
# captures started after the TLS session was established (LATE): a keep-alive client calling on and on; and
# one whose server resets the connection at its fourth request
NODE_KA="const https=require('https');const agent=new https.Agent({keepAlive:true,rejectUnauthorized:false});
const get=(p,m)=>new Promise(r=>{const q=https.request('https://10.99.0.2:8443'+p,{method:m,agent},s=>{s.resume();s.on('end',r)});q.on('error',e=>{console.log(e.code);r()});q.end()});
(async()=>{await get('/backend/oauth/token?grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t','POST'); for(let i=0;i<8;i++){await new Promise(r=>setTimeout(r,400)); await get('/backend/api/v1/licenses?page='+i,'GET');} agent.destroy();})()"
sel r33 && { LATE=1.2 ./rec.sh r33-node-keepalive-midstream-healthy tcpdump 262144 "10.99.0.2 8443 200 TLSv1.2" "node -e \"$NODE_KA\""; text $O/r33-node-keepalive-midstream-healthy.pcap; }
sel r34 && { LATE=0.7 ./rec.sh r34-node-keepalive-midstream-reset tcpdump 262144 "10.99.0.2 8443 reset4" "node -e \"$NODE_KA\""; text $O/r34-node-keepalive-midstream-reset.pcap; }
# the first SYN is dropped (nft quota in the server's namespace), the retransmitted one answered: healthy
sel r35 && { SETUP="ip netns exec ssmrec-s nft add table inet f; ip netns exec ssmrec-s nft add chain inet f in '{ type filter hook input priority 0; }'; ip netns exec ssmrec-s nft add rule inet f in tcp dport 8443 tcp flags '& (syn|ack) == syn' quota until 100 bytes drop" ./rec.sh r35-syn-lost-once-healthy tcpdump 262144 "10.99.0.2 8443 200" "curl -sk -X POST '$T' -o /dev/null --next -sk https://10.99.0.2:8443/api/v1/licenses -o /dev/null --next -sk https://10.99.0.2:8443/api/v1/usage -o /dev/null"; text $O/r35-syn-lost-once-healthy.pcap; }
# a CONNECT proxy on port 9090 opens the tunnel (200); inside it curl refuses the self-signed certificate
sel r36 && { PROXY=tunnel PROXY_PORT=9090 ./rec.sh r36-proxy9090-tunnel-untrusted tcpdump 262144 "10.99.0.2 8443 200" "curl -s -x http://10.99.0.2:9090 -X POST '$T' -o /dev/null; echo \$?"; text $O/r36-proxy9090-tunnel-untrusted.pcap; }
# the server closes (close_notify, FIN) as soon as the handshake is done, answering nothing
sel r37 && { ./rec.sh r37-server-closes-after-handshake tcpdump 262144 "10.99.0.2 8443 fin" "curl -sk -X POST '$T' -o /dev/null; echo \$?"; text $O/r37-server-closes-after-handshake.pcap; }
# the server reads the ClientHello, says nothing, and resets the connection 2 s later
sel r38 && { ./rec.sh r38-server-silent-then-rst tcpdump 262144 "py 10.99.0.2 8443 rst" "curl -sk --max-time 5 -X POST '$T' -o /dev/null; echo \$?"; text $O/r38-server-silent-then-rst.pcap; }
# the same close after the handshake with TLS 1.2 (an encrypted close_notify and FIN after the request); dumpcap -s 160
sel r39 && { ./rec.sh r39-server-closes-after-handshake-tls12-s160 dumpcap 160 "10.99.0.2 8443 fin TLSv1.2" "curl -sk -X POST '$T' -o /dev/null; echo \$?"; text $O/r39-server-closes-after-handshake-tls12-s160.pcapng; }
# a client that checks the host name only after the handshake (as Java's HttpsURLConnection does with its
# HostnameVerifier): TLS 1.3 completes, the client sends close_notify and leaves without a request
PYV="import socket,ssl
ctx=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname=False; ctx.verify_mode=ssl.CERT_NONE
s=ctx.wrap_socket(socket.create_connection(('10.99.0.2',8443)),server_hostname='ssm-onprem.test')
der=s.getpeercert(binary_form=True)
import subprocess; pem=ssl.DER_cert_to_PEM_cert(der)
ok=subprocess.run(['openssl','x509','-noout','-checkhost','ssm-onprem.test'],input=pem.encode(),capture_output=True).stdout
print(ok)
if b'does NOT match' in ok: s.unwrap(); s.close()"
sel r40 && { CERT=wronghost ./rec.sh r40-py-hostname-checked-after-handshake-tls13 tcpdump 262144 "10.99.0.2 8443 200" "python3 -c \"$PYV\""; text $O/r40-py-hostname-checked-after-handshake-tls13.pcap; }
# wget (GnuTLS) refuses a self-signed certificate, TLS 1.2 server, IPv6
sel r41 && { ./rec.sh r41-wget-untrusted-v6-tls12 tcpdump 262144 "fd00:99::2 8443 200 TLSv1.2" "wget -q -O /dev/null --post-data= 'https://[fd00:99::2]:8443/backend/oauth/token?client_id=abcdefghijk&client_secret=s3cr3t'; echo \$?"; text $O/r41-wget-untrusted-v6-tls12.pcap; }
# proxies with small snaplens: the CONNECT line and the status line are cut
sel r42 && { PROXY=407 PROXY_HOST=fd00:99::2 ./rec.sh r42-proxy-407-v6-s96 tcpdump 96 none "curl -sk -x 'http://[fd00:99::2]:3128' -X POST '$T' -o /dev/null; echo \$?"; text $O/r42-proxy-407-v6-s96.pcap; }
sel r43 && { PROXY=tunnel ./rec.sh r43-proxy-tunnel-403-any-s128 any 128 "10.99.0.2 8443 403" "curl -sk -x http://10.99.0.2:3128 -X POST '$T' -o /dev/null; echo \$?"; text $O/r43-proxy-tunnel-403-any-s128.pcap; }
sel r44 && { PROXY=tunnel ./rec.sh r44-proxy-502-pcapng-s96 dumpcap 96 none "curl -sk -x http://10.99.0.2:3128 -X POST '$T' -o /dev/null; echo \$?"; text $O/r44-proxy-502-pcapng-s96.pcapng; }
# the sample scenarios again with other clients, link types and snaplens
NFT="ip netns exec ssmrec-s nft add table inet f; ip netns exec ssmrec-s nft add chain inet f in '{ type filter hook input priority 0; }'; ip netns exec ssmrec-s nft add rule inet f in tcp dport 8443"
PY13="import ssl,urllib.request
ctx=ssl._create_unverified_context(); ctx.minimum_version=ssl.TLSVersion.TLSv1_3
try: urllib.request.urlopen(urllib.request.Request('$T',method='POST',data=b''),context=ctx)
except Exception as e: print(e)"
sel r45 && { ./rec.sh r45-py-tls13-only-vs-tls12-pcapng-s96 dumpcap 96 "10.99.0.2 8443 200 TLSv1.2" "python3 -c \"$PY13\""; text $O/r45-py-tls13-only-vs-tls12-pcapng-s96.pcapng; }
sel r46 && { ./rec.sh r46-v6-tls-to-http-server-sll-s96 sll 96 "py fd00:99::2 8443 http" "curl -sk --max-time 3 -X POST 'https://[fd00:99::2]:8443/backend/oauth/token' -o /dev/null; echo \$?"; text $O/r46-v6-tls-to-http-server-sll-s96.pcap; }
sel r47 && { ./rec.sh r47-py-reset-after-request-tls12-sll-s128 sll 128 "10.99.0.2 8443 reset TLSv1.2" "python3 -c \"import ssl,urllib.request
ctx=ssl._create_unverified_context()
try: urllib.request.urlopen(urllib.request.Request('$T',method='POST',data=b''),context=ctx)
except Exception as e: print(e)\""; text $O/r47-py-reset-after-request-tls12-sll-s128.pcap; }
sel r48 && { SETUP="$NFT drop" ./rec.sh r48-v6-firewall-drops-pcapng dumpcap 262144 "fd00:99::2 8443 200" "curl -sk --max-time 4 -X POST 'https://[fd00:99::2]:8443/backend/oauth/token' -o /dev/null; echo \$?"; text $O/r48-v6-firewall-drops-pcapng.pcapng; }
sel r49 && { SETUP="$NFT reject with icmpx type port-unreachable" ./rec.sh r49-firewall-rejects-port-unreachable-any any 262144 "10.99.0.2 8443 200" "curl -sk --max-time 3 -X POST '$T' -o /dev/null; echo \$?"; text $O/r49-firewall-rejects-port-unreachable-any.pcap; }
PYKA="import ssl,http.client
c=http.client.HTTPSConnection('10.99.0.2',8443,context=ssl._create_unverified_context())
c.request('POST','/backend/oauth/token',body='grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t&username=admin&password=Pa55word',headers={'Content-Type':'application/x-www-form-urlencoded'}); r=c.getresponse(); r.read(); print(r.status)
if r.status==200:
  for p in ['/backend/api/v1/licenses','/backend/api/v1/usage']: c.request('GET',p,headers={'Authorization':'Bearer x'}); r=c.getresponse(); r.read(); print(r.status)
c.close()"
sel r50 && { ./rec.sh r50-py-keepalive-healthy-tls12-sll-s128 sll 128 "10.99.0.2 8443 200 TLSv1.2" "python3 -c \"$PYKA\""; text $O/r50-py-keepalive-healthy-tls12-sll-s128.pcap; }
sel r51 && { ./rec.sh r51-py-keepalive-403-client-closes-tls12-pcapng-s160 dumpcap 160 "10.99.0.2 8443 403 TLSv1.2" "python3 -c \"$PYKA\""; text $O/r51-py-keepalive-403-client-closes-tls12-pcapng-s160.pcapng; }
# TLS 1.3 HelloRetryRequest (the server wants P-384, curl sends an X25519 key share): healthy keep-alive
sel r52 && { ECDH_CURVE=P-384 ./rec.sh r52-curl-hrr-healthy-tls13 tcpdump 262144 "10.99.0.2 8443 200" "curl -sk -X POST '$T' -o /dev/null --next -sk https://10.99.0.2:8443/api/v1/licenses -o /dev/null --next -sk https://10.99.0.2:8443/api/v1/usage -o /dev/null"; text $O/r52-curl-hrr-healthy-tls13.pcap; }
# a client that resumes its TLS session on each new connection (as Java does): one connection per call
PYR="import socket,ssl,sys
ctx=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname=False; ctx.verify_mode=ssl.CERT_NONE
if sys.argv[1]=='12': ctx.maximum_version=ssl.TLSVersion.TLSv1_2
sess=None
calls=[('POST','/backend/oauth/token?grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t&username=admin&password=Pa55word')]
calls+=[] if sys.argv[2]=='403' else [('GET','/backend/api/v1/licenses'),('GET','/backend/api/v1/usage?detail=full'),('GET','/backend/api/v1/accounts')]
for i in range(3 if sys.argv[2]=='403' else 1):
  for m,p in calls:
    s=ctx.wrap_socket(socket.create_connection(('10.99.0.2',8443)),server_hostname='ssm-onprem.test',session=sess)
    s.sendall((m+' '+p+' HTTP/1.1\r\nHost: ssm-onprem.test\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').encode())
    d=b''
    while True:
      x=s.recv(65536)
      if not x: break
      d+=x
    print(s.session_reused, d.split(b'\r\n')[0]); sess=s.session; s.close()"
sel r53 && { ./rec.sh r53-py-resumed-per-call-healthy-tls12 tcpdump 262144 "10.99.0.2 8443 200 TLSv1.2" "python3 -c \"$PYR\" 12 200"; text $O/r53-py-resumed-per-call-healthy-tls12.pcap; }
sel r54 && { ./rec.sh r54-py-resumed-403-retried-tls12-s128 tcpdump 128 "10.99.0.2 8443 403 TLSv1.2" "python3 -c \"$PYR\" 12 403"; text $O/r54-py-resumed-403-retried-tls12-s128.pcap; }
sel r55 && { ./rec.sh r55-py-resumed-per-call-healthy-tls13-s128 tcpdump 128 "10.99.0.2 8443 200" "python3 -c \"$PYR\" 13 200"; text $O/r55-py-resumed-per-call-healthy-tls13-s128.pcap; }
sel r56 && { ./rec.sh r56-py-resumed-403-retried-tls13 tcpdump 262144 "10.99.0.2 8443 403" "python3 -c \"$PYR\" 13 403"; text $O/r56-py-resumed-403-retried-tls13.pcap; }
# API answers of 60 kB (many records, many segments), keep-alive, IPv6, -s 96
sel r57 && { BIG=60000 ./rec.sh r57-curl-big-answers-healthy-v6-s96 tcpdump 96 "fd00:99::2 8443 200" "curl -sk -X POST 'https://[fd00:99::2]:8443/backend/oauth/token?client_id=abcdefghijk' -o /dev/null --next -sk 'https://[fd00:99::2]:8443/api/v1/licenses' -o /dev/null --next -sk 'https://[fd00:99::2]:8443/api/v1/usage' -o /dev/null"; text $O/r57-curl-big-answers-healthy-v6-s96.pcap; }
# with the client's TLS key log beside the capture (NAME.keys, read by ssmcap by itself): other suites
sel r58 && { ./rec.sh r58-curl-chacha-401-keys tcpdump 262144 "10.99.0.2 8443 401" "SSLKEYLOGFILE=$O/r58-curl-chacha-401-keys.pcap.keys curl -sk --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 -X POST '$T' -o /dev/null; echo \$?"; text $O/r58-curl-chacha-401-keys.pcap; }
PYK="import ssl,urllib.request,sys
ctx=ssl._create_unverified_context(); ctx.maximum_version=ssl.TLSVersion.TLSv1_2; ctx.set_ciphers('ECDHE-RSA-AES256-SHA384'); ctx.keylog_filename=sys.argv[1]
try: urllib.request.urlopen(urllib.request.Request('$T',method='POST',data=b''),context=ctx)
except Exception as e: print(e)"
sel r59 && { ./rec.sh r59-py-cbc-403-keys-any any 262144 "10.99.0.2 8443 403" "python3 -c \"$PYK\" $O/r59-py-cbc-403-keys-any.pcap.keys"; text $O/r59-py-cbc-403-keys-any.pcap; }
NODEK="const https=require('https');const fs=require('fs');const agent=new https.Agent({keepAlive:false,rejectUnauthorized:false});
agent.on('keylog',l=>fs.appendFileSync(process.argv[1],l));
const get=(p,m)=>new Promise(r=>{const q=https.request('https://[fd00:99::2]:8443'+p,{method:m,agent},s=>{s.resume();s.on('end',r)});q.on('error',e=>{console.log(e.code);r()});q.end()});
(async()=>{await get('/backend/oauth/token?grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t','POST'); for(const p of ['/api/v1/a','/api/v1/b']) await get(p,'GET');})()"
sel r60 && { ./rec.sh r60-node-per-call-healthy-v6-keys tcpdump 262144 "fd00:99::2 8443 200" "node -e \"$NODEK\" $O/r60-node-per-call-healthy-v6-keys.pcap.keys"; text $O/r60-node-per-call-healthy-v6-keys.pcap; }
sel r61 && { ./rec.sh r61-curl-403-tls12-keys-s128 tcpdump 128 "10.99.0.2 8443 403 TLSv1.2" "SSLKEYLOGFILE=$O/r61-curl-403-tls12-keys-s128.pcap.keys curl -sk -X POST '$T' -o /dev/null; echo \$?"; text $O/r61-curl-403-tls12-keys-s128.pcap; }
# a plain-HTTP OAuth service on 8443: the token call in clear answered 401 invalid_grant
sel r62 && { ./rec.sh r62-plain-http-oauth-401 tcpdump 262144 "py 10.99.0.2 8443 oauth401" "curl -s -X POST 'http://10.99.0.2:8443/backend/oauth/token?grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t&username=admin&password=Pa55word' -o /dev/null; echo \$?"; text $O/r62-plain-http-oauth-401.pcap; }
# captures that start too late or stop too early: only the end of an idle keep-alive connection (its FINs);
# a capture stopped after 9 packets (tcpdump -c 9), in the middle of the TLS handshake
NODE_IDLE="const https=require('https');const agent=new https.Agent({keepAlive:true,rejectUnauthorized:false});
const q=https.request('https://10.99.0.2:8443/backend/oauth/token?client_id=abcdefghijk',{method:'POST',agent},s=>{s.resume();s.on('end',()=>setTimeout(()=>agent.destroy(),2500))});q.end()"
sel r63 && { LATE=1.5 ./rec.sh r63-capture-starts-at-the-close tcpdump 262144 "10.99.0.2 8443 200" "node -e \"$NODE_IDLE\""; text $O/r63-capture-starts-at-the-close.pcap; }
sel r64 && { CAPOPTS="-c 9" ./rec.sh r64-capture-stops-in-handshake tcpdump 262144 "10.99.0.2 8443 200" "curl -sk -X POST '$T' -o /dev/null --next -sk https://10.99.0.2:8443/api/v1/licenses -o /dev/null"; text $O/r64-capture-stops-in-handshake.pcap; }
# the small link toward the server: the client's large segments (a 6 kB POST) meet it (pmtu2.sh)
sel r65 && { ./pmtu2.sh r65-pmtu-blackhole-client-upload v4 drop; text $O/r65-pmtu-blackhole-client-upload.pcap; }
sel r66 && { ./pmtu2.sh r66-v6-pmtu-blackhole-client-upload-s128 v6 drop 128; text $O/r66-v6-pmtu-blackhole-client-upload-s128.pcap; }
sel r67 && { ./pmtu2.sh r67-pmtu-discovery-works-healthy v4 pass; text $O/r67-pmtu-discovery-works-healthy.pcap; }
sel r68 && { ./pmtu2.sh r68-v6-packet-too-big-healthy v6 pass; text $O/r68-v6-packet-too-big-healthy.pcap; }
# one connection per call, the token call and one API call of about the same request size (their answers differ)
PYS="import ssl,urllib.request
ctx=ssl._create_unverified_context(); B='https://10.99.0.2:8443'
urllib.request.urlopen(urllib.request.Request(B+'/backend/oauth/token',data=b'grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t',method='POST'),context=ctx).read()
urllib.request.urlopen(urllib.request.Request(B+'/backend/api/v1/licenses/usage/summary?virtualAccount=Default-Account-For-SD-WAN&detail=1',headers={'Authorization':'Bearer '+'a'*40}),context=ctx).read()"
sel r69 && { ./rec.sh r69-py-per-call-healthy-two-calls-same-size tcpdump 262144 "10.99.0.2 8443 200" "python3 -c \"$PYS\""; text $O/r69-py-per-call-healthy-two-calls-same-size.pcap; }
# a lossy path (nft in the server's namespace drops 12% of the segments either way at random: no netem here):
# healthy keep-alive with retransmissions; the 403 retried over the same path
LOSSY="ip netns exec ssmrec-s nft add table inet l; ip netns exec ssmrec-s nft add chain inet l in '{ type filter hook input priority 0; }'; ip netns exec ssmrec-s nft add chain inet l out '{ type filter hook output priority 0; }'; ip netns exec ssmrec-s nft add rule inet l in tcp dport 8443 numgen random mod 100 '<' 12 drop; ip netns exec ssmrec-s nft add rule inet l out tcp sport 8443 numgen random mod 100 '<' 12 drop"
sel r70 && { SETUP="$LOSSY" ./rec.sh r70-lossy-path-healthy tcpdump 262144 "10.99.0.2 8443 200" "curl -sk -X POST '$T' -o /dev/null --next -sk https://10.99.0.2:8443/api/v1/licenses -o /dev/null --next -sk https://10.99.0.2:8443/api/v1/usage -o /dev/null --next -sk https://10.99.0.2:8443/api/v1/accounts -o /dev/null"; text $O/r70-lossy-path-healthy.pcap; }
sel r72 && { SETUP="$LOSSY" ./rec.sh r72-lossy-403-retried tcpdump 262144 "10.99.0.2 8443 403" "for i in 1 2 3; do curl -sk -X POST '$T' -o /dev/null; sleep 1; done"; text $O/r72-lossy-403-retried.pcap; }
# a healthy sync through a CONNECT proxy over IPv6 at -s 96: the CONNECT line and the 200 are cut to 10 bytes
sel r73 && { PROXY=tunnel PROXY_HOST=fd00:99::2 ./rec.sh r73-proxy-tunnel-healthy-v6-s96 tcpdump 96 "fd00:99::2 8443 200" "curl -sk -x 'http://[fd00:99::2]:3128' -X POST 'https://[fd00:99::2]:8443/backend/oauth/token?client_id=abcdefghijk' -o /dev/null --next -sk -x 'http://[fd00:99::2]:3128' 'https://[fd00:99::2]:8443/api/v1/licenses' -o /dev/null; echo \$?"; text $O/r73-proxy-tunnel-healthy-v6-s96.pcap; }
# Java (HttpsURLConnection, as vManage): Client.java
J="java Client.java"
TJ='https://10.99.0.2:8443/backend/oauth/token?grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t'
sel r74 && { ./rec.sh r74-java-untrusted-tls13 tcpdump 262144 "10.99.0.2 8443 200" "$J default '$TJ'"; text $O/r74-java-untrusted-tls13.pcap; }
sel r75 && { CERT=wronghost ./rec.sh r75-java-wronghost-tls12 tcpdump 262144 "10.99.0.2 8443 200 TLSv1.2" "$J wronghost-cert.pem '$TJ'"; text $O/r75-java-wronghost-tls12.pcap; }
sel r76 && { ./rec.sh r76-java-keepalive-healthy-tls13-any-s128 any 128 "10.99.0.2 8443 200" "$J all '$TJ' https://10.99.0.2:8443/backend/api/v1/licenses https://10.99.0.2:8443/backend/api/v1/usage https://10.99.0.2:8443/backend/api/v1/accounts"; text $O/r76-java-keepalive-healthy-tls13-any-s128.pcap; }
# the token call refused (403) and retried three times: Java keeps the connection alive, so all three go on one
sel r77 && { ./rec.sh r77-java-403-retried-keepalive-tls12 tcpdump 262144 "10.99.0.2 8443 403 TLSv1.2" "$J all '$TJ' '$TJ' '$TJ'"; text $O/r77-java-403-retried-keepalive-tls12.pcap; }
sel r78 && { ./rec.sh r78-java-403-retried-keepalive-tls13-s128 tcpdump 128 "10.99.0.2 8443 403" "$J all '$TJ' '$TJ' '$TJ'"; text $O/r78-java-403-retried-keepalive-tls13-s128.pcap; }
# Java without keep-alive (a connection per call); Java and a server that requires a client certificate; Java
# through a CONNECT proxy (407; a tunnel whose token call is refused and retried on the kept-alive tunnel)
sel r79 && { ./rec.sh r79-java-per-call-healthy-tls12-pcapng-s96 dumpcap 96 "10.99.0.2 8443 200 TLSv1.2" "java -Dhttp.keepAlive=false Client.java all '$TJ' https://10.99.0.2:8443/backend/api/v1/licenses https://10.99.0.2:8443/backend/api/v1/usage"; text $O/r79-java-per-call-healthy-tls12-pcapng-s96.pcapng; }
sel r80 && { CLIENT_CERT=1 ./rec.sh r80-java-client-cert-required-tls13 tcpdump 262144 "10.99.0.2 8443 200" "$J all '$TJ'"; text $O/r80-java-client-cert-required-tls13.pcap; }
sel r81 && { PROXY=407 ./rec.sh r81-java-proxy-407 tcpdump 262144 none "java -Dhttps.proxyHost=10.99.0.2 -Dhttps.proxyPort=3128 Client.java all '$TJ'"; text $O/r81-java-proxy-407.pcap; }
sel r82 && { PROXY=tunnel ./rec.sh r82-java-proxy-tunnel-403-retried tcpdump 262144 "10.99.0.2 8443 403" "java -Dhttps.proxyHost=10.99.0.2 -Dhttps.proxyPort=3128 Client.java all '$TJ' '$TJ' '$TJ'"; text $O/r82-java-proxy-tunnel-403-retried.pcap; }
# a server speaking HTTP/2 (ALPN h2): curl's token call refused (three runs), and a healthy sync (h2server.mjs)
sel r83 && { ./rec.sh r83-curl-h2-403-retried tcpdump 262144 "h2 10.99.0.2 8443 403" "for i in 1 2 3; do curl -sk -X POST '$T' -o /dev/null -w '%{http_version} %{http_code}\n'; sleep 0.5; done"; text $O/r83-curl-h2-403-retried.pcap; }
sel r84 && { ./rec.sh r84-curl-h2-healthy-s128 tcpdump 128 "h2 10.99.0.2 8443 200" "curl -sk -X POST '$T' -o /dev/null -w '%{http_version} %{http_code}\n' --next -sk https://10.99.0.2:8443/api/v1/licenses -o /dev/null -w '%{http_version} %{http_code}\n' --next -sk https://10.99.0.2:8443/api/v1/usage -o /dev/null -w '%{http_version} %{http_code}\n'"; text $O/r84-curl-h2-healthy-s128.pcap; }
sel r85 && { ./rec.sh r85-curl-h2-403-once tcpdump 262144 "h2 10.99.0.2 8443 403" "curl -sk -X POST '$T' -o /dev/null -w '%{http_version} %{http_code}\n'"; text $O/r85-curl-h2-403-once.pcap; }
# Java limited to TLS 1.2 against a server that requires TLS 1.3 (MINV): alert protocol_version; -i any -y LINUX_SLL, -s 96
sel r86 && { MINV=TLSv1.3 ./rec.sh r86-java-tls12-only-vs-tls13-server-sll-s96 sll 96 "10.99.0.2 8443 200" "java -Djdk.tls.client.protocols=TLSv1.2 Client.java all '$TJ'"; text $O/r86-java-tls12-only-vs-tls13-server-sll-s96.pcap; }
