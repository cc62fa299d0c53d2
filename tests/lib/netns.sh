# shellcheck shell=bash
#
# netns.sh: network namespaces for partition tests (sourced after
# mortar-test.sh).  A namespace gets one veth pair to the root namespace
# with a private /30 (10.231.X.0/30: .1 in the root namespace, .2 inside),
# so a brick inside can be cut off (netns_cut) and reconnected
# (netns_heal) without touching any other interface.
#
#   netns_available            0 if `ip netns` works here (else skip)
#   netns_create TAG           makes the namespace; sets NETNS_NAME[TAG],
#                              NETNS_ADDR[TAG] (inside), NETNS_VETH[TAG]
#   netns_exec_wrapper TAG F P writes F: a script that runs program P with
#                              its arguments inside the network namespace
#                              (exec, so its PID is the program's; the
#                              mount namespace stays the caller's)
#   netns_cut TAG / netns_heal TAG   link down / up on the root side
#
# Every namespace made is listed in $MT_TMP/.netns and deleted by
# netns_cleanup_all, which the EXIT trap runs before the library's own
# cleanup (also when a test fails or the watchdog fires).

# shellcheck disable=SC2034 # NETNS_ADDR is for the tests
declare -A NETNS_NAME NETNS_ADDR NETNS_VETH

netns_available() {
	local probe="mtprobe$$"
	command -v ip >/dev/null 2>&1 || return 1
	command -v nsenter >/dev/null 2>&1 || return 1
	ip netns add "$probe" 2>/dev/null || return 1
	ip netns del "$probe" 2>/dev/null
	return 0
}

netns_cleanup_all() {
	local ns veth
	[ -f "$MT_TMP/.netns" ] || return 0
	while read -r ns veth; do
		ip link del "$veth" 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done <"$MT_TMP/.netns"
	rm -f "$MT_TMP/.netns"
}

# Run netns_cleanup_all before the library's cleanup, on every exit path.
trap 'netns_cleanup_all; mt_cleanup' EXIT

NETNS_SEQ=0
netns_create() {
	local tag=$1 id ns veth_h veth_n net
	NETNS_SEQ=$((NETNS_SEQ + 1))
	id=$(($$ % 60000 + NETNS_SEQ))
	ns="mt$id"
	veth_h="mth$id"
	veth_n="mtn$id"
	net="10.231.$(((id / 64) % 256)).$(((id % 64) * 4))"
	ip netns add "$ns" || return 1
	echo "$ns $veth_h" >>"$MT_TMP/.netns"
	ip link add "$veth_h" type veth peer name "$veth_n" || return 1
	ip link set "$veth_n" netns "$ns" || return 1
	ip addr add "${net%.*}.$((${net##*.} + 1))/30" dev "$veth_h" || return 1
	ip -n "$ns" addr add "${net%.*}.$((${net##*.} + 2))/30" dev "$veth_n" ||
		return 1
	ip -n "$ns" link set lo up || return 1
	ip -n "$ns" link set "$veth_n" up || return 1
	ip link set "$veth_h" up || return 1
	NETNS_NAME[$tag]=$ns
	NETNS_VETH[$tag]=$veth_h
	NETNS_ADDR[$tag]="${net%.*}.$((${net##*.} + 2))"
	wait_for 10 netns_link_up "$veth_h"
}

netns_link_up() {
	ip link show "$1" | grep -q 'state UP'
}

# nsenter joins the network namespace only.  Not `ip netns exec`: that
# also makes a new mount namespace holding a copy of every mount of the
# moment, so other tests' FUSE mounts would live on there after their
# umount, and their clients would never see the session end.
netns_exec_wrapper() { # TAG FILE PROGRAM
	printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s %s "$@"\n' \
		"${NETNS_NAME[$1]}" "$3" >"$2"
	chmod +x "$2"
}

netns_cut() {
	ip link set "${NETNS_VETH[$1]}" down
}

netns_heal() {
	ip link set "${NETNS_VETH[$1]}" up
}
