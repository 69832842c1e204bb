#!/bin/bash
# pmtu2.sh NAME v4|v6 drop|pass SNAP: the router's link toward the SERVER has MTU 1200; the client posts a 6 kB
# body, so its own full-size segments meet the small link. drop: the router drops its ICMP fragmentation-needed /
# ICMPv6 packet-too-big (a black hole: the client's large segments are retransmitted, never acknowledged);
# pass: the ICMP reaches the client, which lowers its segment size and goes on (healthy). Captured on the client.
# client ns pc (10.99.0.1, fd00:99::1) -- router pr -- server ns ps (10.98.0.5, fd00:98::5)
set -u
NAME=$1; FAM=$2; MODE=$3; SNAP=${4:-262144}
OUT=${OUT_DIR:-.}; TOOLS=$(cd "$(dirname "$0")" && pwd)
for n in pc pr ps; do ip netns del $n 2>/dev/null; ip netns add $n; ip -n $n link set lo up; done
ip link add c0 type veth peer name r0; ip link add r1 type veth peer name s0
ip link set c0 netns pc; ip link set r0 netns pr; ip link set r1 netns pr; ip link set s0 netns ps
ip -n pc addr add 10.99.0.1/24 dev c0; ip -n pr addr add 10.99.0.2/24 dev r0
ip -n pr addr add 10.98.0.1/24 dev r1; ip -n ps addr add 10.98.0.5/24 dev s0
ip -n pc addr add fd00:99::1/64 dev c0 nodad; ip -n pr addr add fd00:99::2/64 dev r0 nodad
ip -n pr addr add fd00:98::1/64 dev r1 nodad; ip -n ps addr add fd00:98::5/64 dev s0 nodad
for x in "pc c0" "pr r0" "pr r1" "ps s0"; do set -- $x; ip -n $1 link set $2 up; done
# the router's link toward the server is small; the server's own link is not (it advertises MSS 1460), and its
# routes send no more than 1280 bytes (so only the client's direction meets the small link)
ip -n pr link set r1 mtu 1280
ip -n pc route add default via 10.99.0.2; ip -n ps route add default via 10.98.0.1 mtu lock 1280 advmss 1460
ip -n pc -6 route add default via fd00:99::2; ip -n ps -6 route add default via fd00:98::1 mtu lock 1280 advmss 1440
ip netns exec pr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
if [ $MODE = drop ]; then
  ip netns exec pr nft add table inet f
  ip netns exec pr nft add chain inet f out '{ type filter hook output priority 0; }'
  ip netns exec pr nft add rule inet f out icmp type destination-unreachable icmp code frag-needed drop
  ip netns exec pr nft add rule inet f out icmpv6 type packet-too-big drop
fi
sleep 1.5
if [ $FAM = v6 ]; then H=fd00:98::5; U="[fd00:98::5]"; else H=10.98.0.5; U=10.98.0.5; fi
ip netns exec ps node $TOOLS/server.mjs $H 8443 200 TLSv1.2 > /tmp/pmtu2-srv.log 2>&1 & SP=$!
sleep 0.8
ip netns exec pc tcpdump -U -i c0 -s $SNAP -w $OUT/$NAME.pcap >/dev/null 2>&1 & C1=$!
sleep 1.2
head -c 6000 /dev/zero | tr '\0' a > /tmp/pmtu2-body
ip netns exec pc curl -sk --max-time 8 -X POST "https://$U:8443/backend/oauth/token?client_id=abcdefghijk&client_secret=x" --data-binary @/tmp/pmtu2-body -o /dev/null --next -sk "https://$U:8443/api/v1/licenses" -o /dev/null; echo "curl $?"
sleep 1
kill $C1 $SP; wait $C1 2>/dev/null
for n in pc pr ps; do ip netns del $n; done
echo "$NAME.pcap $(stat -c %s $OUT/$NAME.pcap) bytes"
