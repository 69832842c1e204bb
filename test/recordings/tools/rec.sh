#!/bin/bash
# rec.sh NAME "tcpdump|dumpcap" SNAPLEN "server args (host port mode maxv) or none" "client command"
set -u
# Records one scenario between two network namespaces joined by a veth pair: the client (vManage's
# side, 10.99.0.1 / fd00:99::1, where the capture runs) and the server (SSM On-Prem's stand-in, 10.99.0.2 /
# fd00:99::2, also the router to 10.98.0.0/24 and fd00:98::/64 when SETUP routes through it).
# server.mjs environment: CERT, CLIENT_CERT, MINV, ECDH_CURVE, BIG (see there).
# ENGINE: tcpdump (-i vc), any (-i any: SLL2), sll (-i any -y LINUX_SLL), dumpcap (pcapng). Environment:
# CAPOPTS=more tcpdump options (-i vc only, e.g. -c 8), PROXY=MODE (PROXY_HOST, default 10.99.0.2; PROXY_PORT, default 3128), SETUP=commands, LATE=S, CERT=NAME and CLIENT_CERT=1 (server.mjs).
# Needs root, iproute2, tcpdump, dumpcap, node, python3, openssl, curl. See record-all.sh for every scenario.
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$HERE/key.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout "$HERE/key.pem" -out "$HERE/cert.pem" -days 30 -subj "/CN=ssm-onprem.test" -addext "subjectAltName=DNS:ssm-onprem.test,IP:10.99.0.2,IP:fd00:99::2" 2>/dev/null
NAME=$1; ENGINE=$2; SNAP=$3; SRV=$4; CLI=$5
C=ssmrec-c; S=ssmrec-s
ip netns del $C 2>/dev/null; ip netns del $S 2>/dev/null
ip netns add $C; ip netns add $S
ip link add vc type veth peer name vs
ip link set vc netns $C; ip link set vs netns $S
ip -n $C addr add 10.99.0.1/24 dev vc; ip -n $S addr add 10.99.0.2/24 dev vs
ip -n $C addr add fd00:99::1/64 dev vc nodad; ip -n $S addr add fd00:99::2/64 dev vs nodad
for n in $C $S; do ip -n $n link set lo up; done
ip -n $C link set vc up; ip -n $S link set vs up
sleep 1
OUT=${OUT_DIR:-.}/$NAME
mkdir -p ${OUT_DIR:-.}
SP=""; PP=""
case "$SRV" in
  none) ;;
  h2\ *) ip netns exec $S node $HERE/h2server.mjs ${SRV#h2 } > /tmp/srv.log 2>&1 & SP=$!; sleep 0.7 ;;
  py\ *) ip netns exec $S /usr/bin/python3 $HERE/silent.py ${SRV#py } > /tmp/srv.log 2>&1 & SP=$!; sleep 1.5 ;;
  *) ip netns exec $S node $HERE/server.mjs $SRV > /tmp/srv.log 2>&1 & SP=$!; sleep 0.7 ;;
esac
if [ -n "${PROXY:-}" ]; then ip netns exec $S node $HERE/proxy.mjs ${PROXY_HOST:-10.99.0.2} ${PROXY_PORT:-3128} $PROXY > /tmp/proxy.log 2>&1 & PP=$!; sleep 0.5; fi
if [ -n "${SETUP:-}" ]; then bash -c "$SETUP"; fi
# LATE=S: the client starts first and the capture S seconds later (a capture started mid-connection)
if [ -n "${LATE:-}" ]; then ip netns exec $C bash -c "$CLI" > $OUT.client.log 2>&1 & LP=$!; sleep $LATE; fi
if [ $ENGINE = dumpcap ]; then ip netns exec $C dumpcap -q -i vc -s $SNAP -w $OUT.pcapng >/dev/null 2>&1 & CP=$!; EXT=pcapng
elif [ $ENGINE = sll ]; then ip netns exec $C tcpdump -U -i any -y LINUX_SLL -s $SNAP -w $OUT.pcap >/dev/null 2>&1 & CP=$!; EXT=pcap
elif [ $ENGINE = any ]; then ip netns exec $C tcpdump -U -i any -s $SNAP -w $OUT.pcap >/dev/null 2>&1 & CP=$!; EXT=pcap
else ip netns exec $C tcpdump -U -i vc -s $SNAP ${CAPOPTS:-} -w $OUT.pcap >/dev/null 2>&1 & CP=$!; EXT=pcap; fi
if [ -n "${LATE:-}" ]; then wait $LP; else
sleep 1.2
ip netns exec $C bash -c "$CLI" > $OUT.client.log 2>&1
fi
sleep 1.5
kill $CP; wait $CP 2>/dev/null
[ -n "$SP" ] && kill $SP; [ -n "$PP" ] && kill $PP
sleep 0.2
ip netns del $C; ip netns del $S
echo "$NAME.$EXT $(stat -c %s $OUT.$EXT) bytes"
