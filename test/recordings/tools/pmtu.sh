#!/bin/bash
# client ns C (10.99.0.1) -- router ns R (10.99.0.2 | 10.98.0.1) -- server ns S (10.98.0.5)
# R's interface toward C has MTU 1200 and R drops the ICMP fragmentation-needed it would send: a PMTU black hole
set -u
OUT=${OUT_DIR:-.}; HERE=$(cd "$(dirname "$0")" && pwd); TOOLS=$HERE
for n in pc pr ps; do ip netns del $n 2>/dev/null; ip netns add $n; ip -n $n link set lo up; done
ip link add c0 type veth peer name r0; ip link add r1 type veth peer name s0
ip link set c0 netns pc; ip link set r0 netns pr; ip link set r1 netns pr; ip link set s0 netns ps
ip -n pc addr add 10.99.0.1/24 dev c0; ip -n pr addr add 10.99.0.2/24 dev r0
ip -n pr addr add 10.98.0.1/24 dev r1; ip -n ps addr add 10.98.0.5/24 dev s0
for x in "pc c0" "pr r0" "pr r1" "ps s0"; do set -- $x; ip -n $1 link set $2 up; done
ip -n pr link set r0 mtu 1200
ip -n pc route add default via 10.99.0.2; ip -n ps route add default via 10.98.0.1
ip netns exec pr sysctl -qw net.ipv4.ip_forward=1
ip netns exec pr nft add table inet f
ip netns exec pr nft add chain inet f out '{ type filter hook output priority 0; }'
ip netns exec pr nft add rule inet f out icmp type destination-unreachable icmp code frag-needed drop
sleep 1
ip netns exec ps node $TOOLS/server.mjs 10.98.0.5 8443 200 TLSv1.2 > /tmp/pmtu-srv.log 2>&1 & SP=$!
sleep 0.8
ip netns exec pc tcpdump -U -i c0 -s 262144 -w $OUT/r24-pmtu-blackhole-client-side.pcap >/dev/null 2>&1 & C1=$!
ip netns exec ps tcpdump -U -i s0 -s 262144 -w $OUT/r25-pmtu-blackhole-ssm-side.pcap >/dev/null 2>&1 & C2=$!
sleep 1.2
ip netns exec pc curl -sk --max-time 6 -X POST 'https://10.98.0.5:8443/backend/oauth/token?client_id=abcdefghijk&client_secret=x' -o /dev/null; echo "curl $?"
sleep 1
kill $C1 $C2 $SP; wait $C1 $C2 2>/dev/null
for n in pc pr ps; do ip netns del $n; done
