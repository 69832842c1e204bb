#!/bin/bash
# Re-records every capture of test/recordings (as root): OUT_DIR=/tmp/rec ./record-all.sh
cd "$(dirname "$0")"
T='https://10.99.0.2:8443/backend/oauth/token?grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t&username=admin&password=Pa55word'
R='ip -n ssmrec-c route add 10.98.0.0/24 via 10.99.0.2; ip -n ssmrec-c -6 route add fd00:98::/64 via fd00:99::2; ip netns exec ssmrec-s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1;'
PY="import ssl,urllib.request
ctx=ssl._create_unverified_context()"
./rec.sh r01-v6-curl-keepalive-healthy tcpdump 262144 "fd00:99::2 8443 200" 'curl -sk -X POST "https://[fd00:99::2]:8443/backend/oauth/token?grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t&username=u&password=p" -o /dev/null --next -sk "https://[fd00:99::2]:8443/api/v1/licenses" -o /dev/null --next -sk "https://[fd00:99::2]:8443/api/v1/usage" -o /dev/null'
./rec.sh r02-v4-curl-403-retries-s128 tcpdump 128 "10.99.0.2 8443 403" "for i in 1 2 3; do curl -sk -X POST '$T' -o /dev/null; sleep 0.3; done"
./rec.sh r03-py-401-tls12-pcapng dumpcap 262144 "10.99.0.2 8443 401 TLSv1.2" "python3 -c \"$PY
try: urllib.request.urlopen(urllib.request.Request('$T',method='POST',data=b''),context=ctx)
except Exception as e: print(e)\""
./rec.sh r04-curl-untrusted-tls13 tcpdump 262144 "10.99.0.2 8443 200" "curl -s -X POST '$T' -o /dev/null; echo \$?"
./rec.sh r05-curl-untrusted-tls12 tcpdump 262144 "10.99.0.2 8443 200 TLSv1.2" "curl -s -X POST '$T' -o /dev/null; echo \$?"
./rec.sh r06-curl-tls13-only-vs-tls12 tcpdump 262144 "10.99.0.2 8443 200 TLSv1.2" "curl -sk --tlsv1.3 -X POST '$T' -o /dev/null; echo \$?"
./rec.sh r07-any-v6-refused tcpdump 262144 none "curl -sk -X POST 'https://[fd00:99::2]:8443/backend/oauth/token' -o /dev/null; echo \$?"
./rec.sh r08-no-host-no-response tcpdump 262144 none "curl -sk --max-time 4 -X POST 'https://10.99.0.3:8443/backend/oauth/token' -o /dev/null; echo \$?"
./rec.sh r09-silent-server tcpdump 262144 "py 10.99.0.2 8443 silent" "curl -sk --max-time 3 -X POST '$T' -o /dev/null; echo \$?"
./rec.sh r10-plain-http-server-any any 262144 "py 10.99.0.2 8443 http" "curl -sk --max-time 3 -X POST '$T' -o /dev/null; echo \$?"
./rec.sh r11-py-per-call-healthy-tls12-s96 tcpdump 96 "10.99.0.2 8443 200 TLSv1.2" "python3 -c \"$PY
for u in ['$T','https://10.99.0.2:8443/api/v1/licenses','https://10.99.0.2:8443/api/v1/usage?detail=full&page=1']:
  urllib.request.urlopen(urllib.request.Request(u,method='POST' if 'token' in u else 'GET',data=b'' if 'token' in u else None),context=ctx).read()
\""
./rec.sh r12-reset-after-request tcpdump 262144 "10.99.0.2 8443 reset" "curl -sk -X POST '$T' -o /dev/null; echo \$?"
PROXY=407 ./rec.sh r13-proxy-407 tcpdump 262144 none "curl -sk -x http://10.99.0.2:3128 -X POST '$T' -o /dev/null; echo \$?"
PROXY=tunnel ./rec.sh r14-proxy-tunnel-403 tcpdump 262144 "10.99.0.2 8443 403" "curl -sk -x http://10.99.0.2:3128 -X POST '$T' -o /dev/null; echo \$?"
PROXY=tunnel ./rec.sh r15-proxy-502 tcpdump 262144 none "curl -sk -x http://10.99.0.2:3128 -X POST '$T' -o /dev/null; echo \$?"
SETUP="$R ip -n ssmrec-s route add prohibit 10.98.0.0/24" ./rec.sh r16-routed-icmp-prohibit tcpdump 128 none "curl -sk --max-time 3 -X POST 'https://10.98.0.5:8443/backend/oauth/token?client_secret=x' -o /dev/null; echo \$?"
SETUP="$R ip -n ssmrec-s route add blackhole 10.98.0.0/24" ./rec.sh r17-routed-blackhole-no-response tcpdump 128 none "curl -sk --max-time 4 -X POST 'https://10.98.0.5:8443/backend/oauth/token' -o /dev/null; echo \$?"
SETUP="$R ip -n ssmrec-s -6 route add prohibit fd00:98::/64" ./rec.sh r18-routed-icmp6-prohibit-pcapng dumpcap 128 none "curl -sk --max-time 3 -X POST 'https://[fd00:98::5]:8443/backend/oauth/token' -o /dev/null; echo \$?"
SETUP="$R ip -n ssmrec-s -6 route add unreachable fd00:98::/64" ./rec.sh r19-routed-icmp6-unreachable-any any 96 none "curl -sk --max-time 3 -X POST 'https://[fd00:98::5]:8443/backend/oauth/token' -o /dev/null; echo \$?"
for f in "${OUT_DIR:-.}"/r*.pcap "${OUT_DIR:-.}"/r*.pcapng; do tcpdump -nn -vv -r "$f" > "$f.tcpdump.txt" 2>/dev/null; done
PY2="import ssl,urllib.request,time
ctx=ssl._create_unverified_context()"
./rec.sh r20-py-per-call-healthy-tls13-s128 tcpdump 128 "10.99.0.2 8443 200" "python3 -c \"$PY2
for u in ['$T','https://10.99.0.2:8443/api/v1/licenses','https://10.99.0.2:8443/api/v1/usage?detail=full&page=1','https://10.99.0.2:8443/api/v1/x']:
  urllib.request.urlopen(urllib.request.Request(u,method='POST' if 'token' in u else 'GET',data=b'' if 'token' in u else None),context=ctx).read()
\""
./rec.sh r21-py-403-retried-tls13-s128 tcpdump 128 "10.99.0.2 8443 403" "python3 -c \"$PY2
for i in range(3):
  try: urllib.request.urlopen(urllib.request.Request('$T',method='POST',data=b''),context=ctx)
  except Exception as e: print(e)
  time.sleep(0.5)
\""
./rec.sh r22-node-keepalive-healthy-tls12 tcpdump 262144 "10.99.0.2 8443 200 TLSv1.2" "node -e \"
const https=require('https'); const agent=new https.Agent({keepAlive:true,rejectUnauthorized:false});
const get=(p,m)=>new Promise(r=>{const q=https.request('https://10.99.0.2:8443'+p,{method:m,agent},s=>{s.resume();s.on('end',r)});q.end()});
(async()=>{await get('/backend/oauth/token?grant_type=password&client_id=abcdefghijk&client_secret=s3cr3t&username=a&password=b','POST'); for(const p of ['/api/v1/a','/api/v1/b','/api/v1/c']) await get(p,'GET'); agent.destroy();})()\""
for f in "${OUT_DIR:-.}"/r2*.pcap; do tcpdump -nn -vv -r "$f" > "$f.tcpdump.txt" 2>/dev/null; done
./rec.sh r23-v6-no-neighbor tcpdump 262144 none "curl -sk --max-time 4 -X POST 'https://[fd00:99::3]:8443/backend/oauth/token' -o /dev/null; echo \$?"
tcpdump -nn -vv -r "${OUT_DIR:-.}/r23-v6-no-neighbor.pcap" > "${OUT_DIR:-.}/r23-v6-no-neighbor.pcap.tcpdump.txt" 2>/dev/null
# a PMTU black hole through a router namespace (client side and SSM side captured at once)
./pmtu.sh
for f in "${OUT_DIR:-.}"/r24-*.pcap "${OUT_DIR:-.}"/r25-*.pcap; do tcpdump -nn -vv -r "$f" > "$f.tcpdump.txt" 2>/dev/null; done
# a server that requires a client certificate (server.mjs with CLIENT_CERT=1), TLS 1.3 and TLS 1.2
CLIENT_CERT=1 ./rec.sh r26-server-requires-client-cert-tls13 tcpdump 262144 "10.99.0.2 8443 200" "curl -sk -X POST '$T' -o /dev/null; echo \$?"
CLIENT_CERT=1 ./rec.sh r27-server-requires-client-cert-tls12 tcpdump 262144 "10.99.0.2 8443 200 TLSv1.2" "curl -sk -X POST '$T' -o /dev/null; echo \$?"
for f in "${OUT_DIR:-.}"/r26-*.pcap "${OUT_DIR:-.}"/r27-*.pcap; do tcpdump -nn -vv -r "$f" > "$f.tcpdump.txt" 2>/dev/null; done
# more scenarios (r28-r51): other clients' trust failures, mid-connection captures, a SYN lost once, proxies on
# another port and with small snaplens, servers that close or reset without answering, cooked SLL (v1 and v2)
./record-more.sh
