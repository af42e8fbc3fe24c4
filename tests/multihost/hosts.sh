# Throw-away "hosts" for the multi-host tests, sourced by them (root only): network
# namespaces joined by a bridge, each with its own host name and address. Every address
# exists only inside these namespaces: the bridge lives in a namespace of its own, nothing
# is added to the machine's own network, and no address outside 10.231.0.0/24 is contacted.
#
#   hosts_possible  true when this machine lets us make them (network namespaces, veth
#                   pairs, a bridge); otherwise prints why and is false
#   hosts_up N      creates hosts rlrec-h1..rlrec-hN (10.231.0.1..N) and writes $T/hosts,
#                   $T/enter (I CMD... runs CMD on host I) and $T/rsh, an rsh agent for
#                   Open MPI (HOST COMMAND... runs COMMAND on that host). Needs T (a
#                   temporary folder) set.
#   on_host I CMD   runs CMD on host I: in its namespace, with its host name and hosts file.
#   check_spread_run RUN N
#                   checks that the finished run in RUN had learner ranks 0 and 1 on
#                   rlrec-h1 and rlrec-h2, two actors on rlrec-h3, CURVE, N updates, and every
#                   actor's trajectories; calls `fail` (the caller's) with what is wrong, and
#                   sets SPREAD_RUN_FIGURES to the final env steps and trajectories
#   hosts_down      ends the hosts' processes and removes their namespaces (safe to call
#                   twice); the files stay in $T.

HOSTS_PREFIX=rlrec$$
HOSTS_COUNT=0

hosts_possible() {
  local probe=$HOSTS_PREFIX-probe ok=1
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "cannot make network namespaces here"
    return 1
  fi
  ip -n "$probe" link add br0 type bridge 2>/dev/null || { echo "no bridges here"; ok=0; }
  if ((ok)) && ! ip -n "$probe" link add va type veth peer name vb 2>/dev/null; then
    echo "no veth pairs here"
    ok=0
  fi
  ip netns del "$probe" 2>/dev/null || true
  ((ok))
}

hosts_up() {
  HOSTS_COUNT=$1
  local br=$HOSTS_PREFIX-br i
  ip netns add "$br"
  ip -n "$br" link add br0 type bridge
  ip -n "$br" link set br0 up
  for ((i = 1; i <= HOSTS_COUNT; i++)); do
    local ns=$HOSTS_PREFIX-h$i
    ip netns add "$ns"
    # The veth pair is made inside the host's namespace, its peer moved straight into the
    # bridge's: neither end ever appears in the machine's own namespace.
    ip -n "$ns" link add eth0 type veth peer name b$i netns "$br"
    ip -n "$br" link set b$i master br0 up
    ip -n "$ns" addr add 10.231.0.$i/24 dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
  # Every host resolves every host's name: a hosts file that enter mounts over /etc/hosts.
  {
    echo "127.0.0.1 localhost"
    for ((i = 1; i <= HOSTS_COUNT; i++)); do echo "10.231.0.$i rlrec-h$i"; done
  } >"$T/hosts"
  # enter I CMD...: CMD on host I. Only the network namespace is entered (the machine's own
  # /sys, cgroups and files stay in view, as a cluster node has its own); the host name and
  # /etc/hosts are the host's, in UTS and mount namespaces of CMD's own.
  cat >"$T/enter" <<ENTER
#!/bin/bash
i=\$1
shift
exec nsenter --net=/run/netns/$HOSTS_PREFIX-h\$i unshare --uts --mount /bin/sh -c \\
  'hostname "rlrec-h\$0" && mount --bind "$T/hosts" /etc/hosts && exec "\$@"' "\$i" "\$@"
ENTER
  chmod +x "$T/enter"
  cat >"$T/rsh" <<AGENT
#!/bin/bash
# rsh agent for Open MPI: [FLAGS] HOST COMMAND... runs COMMAND (joined, as ssh would) on HOST.
while [[ \$1 == -* ]]; do shift; done
host=\$1
shift
echo "rsh: \$host: \$*" >>"$T/rsh.log"
exec "$T/enter" "\${host#rlrec-h}" /bin/sh -c "\$*"
AGENT
  chmod +x "$T/rsh"
}

on_host() { "$T/enter" "$@"; }

hosts_down() {
  local i
  for ((i = 1; i <= HOSTS_COUNT; i++)); do
    ip netns pids "$HOSTS_PREFIX-h$i" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$HOSTS_PREFIX-h$i" 2>/dev/null || true
  done
  ip netns del "$HOSTS_PREFIX-br" 2>/dev/null || true
  HOSTS_COUNT=0
}

check_spread_run() {
  local run=$1 updates=$2 want id
  eval "$("$BIN/rlrec" run-dir-layout)"
  local learners_log=$run/$RLREC_RUN_LEARNERS_LOG actors_log=$run/$RLREC_RUN_ACTORS_LOG
  grep -q "rank 0 of 2: trajectories at tcp://rlrec-h1:" "$learners_log" || fail "rank 0 not on rlrec-h1"
  grep -q "rank 1 of 2: trajectories at tcp://rlrec-h2:" "$learners_log" || fail "rank 1 not on rlrec-h2"
  grep -q "CURVE security" "$learners_log" || fail "the learners' sockets were not secured"
  [[ $(grep -c "on host rlrec-h3, joined run" "$actors_log") -eq 2 ]] ||
    fail "the actors did not both run on rlrec-h3"
  local last
  last=$(tail -n1 "$run/$RLREC_RUN_METRICS")
  for want in '"final":1' "\"update\":$updates," '"learner_ranks":2' '"actors_seen":2' '"decode_errors":0'; do
    grep -q "$want" <<<"$last" || fail "the final metrics row lacks $want: $last"
  done
  # Every actor's trajectories reached the learners: each sent some, and none was refused.
  for id in 0 1; do
    grep -q "\"actor_id\":$id,.*\"unrolls_sent\":[1-9]" "$actors_log" ||
      fail "actor $id reports no trajectories sent"
  done
  [[ -s $run/$RLREC_RUN_FINAL_CHECKPOINT ]] || fail "no final checkpoint"
  SPREAD_RUN_FIGURES="$(grep -o '"env_steps":[0-9]*' <<<"$last"), $(grep -o '"trajectories_received":[0-9]*' <<<"$last")"
}
