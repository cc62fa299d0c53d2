#!/bin/bash
#
# parallel-dirops.t: lookups of distinct names in one directory reach the
# brick in parallel (the bridge asks the kernel for parallel directory
# operations: -o parallel-dirops=on, the default), and one at a time with
# -o parallel-dirops=off; the answers are right either way.
#
# How the overlap is seen: the brick is stopped (SIGSTOP), 8 processes
# stat 8 cold names of one directory, and the client's state dump counts
# the calls protocol/client sent and has no answer for (pending_calls).
# On: all 8 at once.  Off: the kernel holds the directory's lock for the
# one lookup it sent, so there is only 1, however long we wait.  Then the
# brick goes on: each stat gets its file's size, or ENOENT for a name
# that does not exist, and the calls were those 8 lookups and nothing
# else.  Last, 8 processes stat and one lists the same cold directory of
# 300 names at once, each in another order: every size, type, inode
# number and ENOENT must be right.
#
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries
command -v perl >/dev/null || skip_all "needs perl"
plan 19

N=8
MNT=$MT_TMP/mnt
VOL=$MT_TMP/pd.vol
MLOG=$MT_TMP/logs/mount-$(basename "$MNT").log
# Long caches: while the brick is stopped the kernel must not need a
# GETATTR of the directory (permission checks use its cached attributes),
# so the only calls are the lookups of the new names (no negative cache).
CACHE_OPTS=attribute-timeout=300,entry-timeout=300
# How long the "off" case waits for a second lookup that must not come:
# a negative is only shown by waiting; 8 lookups take milliseconds.
SETTLE=${MORTAR_TEST_SETTLE:-2}
declare -a STAT_PIDS=()

tap_require "start brick" start_brick pd "$MT_TMP/brick"
# The brick is stopped for a while: no ping timeout meanwhile.
cat >"$VOL" <<EOF
volume pd-client
    type protocol/client
    option remote-host 127.0.0.1
    option remote-port $BRICK_PORT
    option remote-subvolume pd
    option ping-timeout 300
end-volume
EOF

mount_pd() { # [extra -o options]
	mount_volfile "$VOL" "$MNT" "$CACHE_OPTS${1:+,$1}"
}

# d: f1..f6 of 111*i bytes (n7, n8 do not exist).  big: f0..f289 of i
# bytes and d0..d9 (m0..m19 do not exist).
make_tree() {
	local i
	mkdir "$MNT/d" "$MNT/big" || return 1
	for ((i = 1; i <= 6; i++)); do
		head -c $((111 * i)) /dev/zero >"$MNT/d/f$i" || return 1
	done
	for ((i = 0; i < 290; i++)); do
		head -c "$i" /dev/zero >"$MNT/big/f$i" || return 1
	done
	for ((i = 0; i < 10; i++)); do
		mkdir "$MNT/big/d$i" || return 1
	done
}

# The last word of the bridge on parallel directory operations.
dirops_logged() { # WORD
	grep 'parallel directory operations:' "$MLOG" | tail -n 1 |
		grep -q "operations: $1"
}

# ---- the client's state dump -------------------------------------------

# client_section FIELD-PATTERN: the lines of pd-client's section that
# match (pending_calls=, fop.NAME count=...).
client_section() {
	local path
	path=$(mt_state_dump "$MOUNT_PID") || return 1
	awk -v pat="$1" '/^\[xlator /{ x = ($2 == "pd-client]") }
		x && $0 ~ pat { print }' "$path"
}

pending_calls() {
	client_section '^pending_calls=' | sed 's/.*=//'
}
pending_at_least() { [ "$(pending_calls)" -ge "$1" ]; }

# ---- stat-ers -------------------------------------------------------------

# stat_names OUT SEED PATH...: lstat each path (in an order shuffled by
# SEED); one line each in OUT: "NAME TYPE SIZE INO" or "NAME errno=N".
stat_names() {
	perl -MList::Util=shuffle -e '
		my ($out, $seed) = splice(@ARGV, 0, 2);
		srand($seed);
		open(my $o, ">", $out) or die "$out: $!";
		for my $p (shuffle(@ARGV)) {
			(my $n = $p) =~ s{.*/}{};
			if (my @s = lstat($p)) {
				my $t = -d _ ? "dir" : -f _ ? "file" : "other";
				print $o "$n $t $s[7] $s[1]\n";
			} else {
				print $o "$n errno=", $! + 0, "\n";
			}
		}
		close($o) or die "$out: $!";' "$@"
}

# start_stats: N processes, process i stats one name of d (f1..f6 exist,
# n7, n8 do not).
start_stats() {
	local i name pid
	STAT_PIDS=()
	rm -f "$MT_TMP"/out.*
	for ((i = 1; i <= N; i++)); do
		name=f$i
		[ "$i" -le 6 ] || name=n$i
		stat_names "$MT_TMP/out.$i" "$i" "$MNT/d/$name" &
		pid=$!
		mt_track .pids "$pid"
		STAT_PIDS+=("$pid")
	done
}

# wait_stats: every stat-er ended (exit status 0) within 30 s.
wait_stats() {
	local pid rc=0
	for pid in "${STAT_PIDS[@]}"; do
		wait_for 30 mt_pid_gone "$pid" || rc=1
		wait "$pid" || rc=1
		mt_untrack .pids "$pid"
	done
	STAT_PIDS=()
	return $rc
}

# small_results: each stat got its file's size, or ENOENT.
small_results() {
	local i want got
	for ((i = 1; i <= N; i++)); do
		got=$(cat "$MT_TMP/out.$i" 2>/dev/null)
		if [ "$i" -le 6 ]; then
			want="f$i file $((111 * i)) "
			[[ "$got" == "$want"* ]] || { echo "f$i: '$got'"; return 1; }
		else
			[ "$got" = "n$i errno=2" ] || { echo "n$i: '$got'"; return 1; }
		fi
	done
}

# only_lookups BEFORE: the fop counts of pd-client now differ from BEFORE
# (client_section '^fop\.' output) only by N more lookups.
only_lookups() {
	local after
	after=$(client_section '^fop\.') || return 1
	diag "before: $(tr "\n" " " <<<"$1")" "after: $(tr "\n" " " <<<"$after")"
	perl -e '
		my ($n, $before, $after) = @ARGV;
		my (%b, %a);
		$b{$1} = $2 while $before =~ /(fop\.\S+) count=(\d+)/g;
		$a{$1} = $2 while $after =~ /(fop\.\S+) count=(\d+)/g;
		my $bad = 0;
		for my $f (sort keys %{{ %a, %b }}) {
			my $d = ($a{$f} // 0) - ($b{$f} // 0);
			my $want = $f eq "fop.lookup" ? $n : 0;
			next if $d == $want;
			print "$f: +$d, want +$want\n";
			$bad = 1;
		}
		exit $bad;' "$N" "$1" "$after"
}

# overlap_case WANT: brick stopped, N stats of cold names of d started;
# passes when the most calls in flight is WANT (N: wait until all are;
# 1: wait for the first, then SETTLE seconds more for any other).  The
# brick goes on again whatever happens.
overlap_case() {
	local want=$1 rc=0 seen
	stat "$MNT/d" >/dev/null || return 1
	FOPS_BEFORE=$(client_section '^fop\.') || return 1
	kill -STOP "${MT_BRICK_PID[pd]}"
	start_stats
	if [ "$want" -gt 1 ]; then
		wait_for 20 pending_at_least "$want" || rc=1
	else
		wait_for 20 pending_at_least 1 || rc=1
		sleep "$SETTLE"
	fi
	seen=$(pending_calls)
	kill -CONT "${MT_BRICK_PID[pd]}"
	diag "calls in flight with the brick stopped: $seen (want $want)"
	[ "$rc" = 0 ] && [ "$seen" = "$want" ]
}

stats_right() { wait_stats && small_results; }

# ---- the big directory, all at once -------------------------------------

# list_names OUT: list big 3 times; one line per listing: the count of
# names other than . and ..
list_names() {
	perl -e '
		my ($dir, $out) = @ARGV;
		open(my $o, ">", $out) or die "$out: $!";
		for (1 .. 3) {
			opendir(my $d, $dir) or die "$dir: $!";
			my @n = grep { $_ ne "." && $_ ne ".." } readdir($d);
			closedir($d);
			print $o scalar(@n), "\n";
		}
		close($o) or die "$out: $!";' "$MNT/big" "$1"
}

all_at_once() {
	local i pid rc=0
	local -a names=()
	for ((i = 0; i < 290; i++)); do names+=("$MNT/big/f$i"); done
	for ((i = 0; i < 10; i++)); do names+=("$MNT/big/d$i"); done
	for ((i = 0; i < 20; i++)); do names+=("$MNT/big/m$i"); done
	stat "$MNT/big" >/dev/null || return 1
	rm -f "$MT_TMP"/big.*
	STAT_PIDS=()
	for ((i = 1; i <= N; i++)); do
		stat_names "$MT_TMP/big.$i" "$i" "${names[@]}" &
		pid=$!
		mt_track .pids "$pid"
		STAT_PIDS+=("$pid")
	done
	list_names "$MT_TMP/list" &
	pid=$!
	mt_track .pids "$pid"
	STAT_PIDS+=("$pid")
	wait_stats || rc=1
	[ "$(cat "$MT_TMP/list")" = "$(printf '300\n300\n300')" ] ||
		{ echo "listings: $(cat "$MT_TMP/list")"; rc=1; }
	# shellcheck disable=SC2016 # perl's own variables
	perl -e '
		my $n = shift;
		my (%ino, %name_of, $bad);
		for my $k (1 .. $n) {
			open(my $f, "<", "$ENV{MT_TMP}/big.$k") or die $!;
			my $lines = 0;
			while (<$f>) {
				chomp;
				$lines++;
				my ($name, @v) = split / /;
				my $want;
				if ($name =~ /^f(\d+)$/) {
					$want = "file $1";
				} elsif ($name =~ /^d\d+$/) {
					$want = "dir";
				} else {
					$want = "errno=2";
				}
				my $got = join(" ", @v);
				if ($want eq "dir") {
					$got =~ s/^dir \d+/dir/;
				}
				if ($got !~ /^\Q$want\E( (\d+))?$/) {
					print "stat-er $k: $name: $got (want $want)\n";
					$bad = 1;
					next;
				}
				my $i = $2;
				next unless defined $i;
				if (exists $ino{$name} && $ino{$name} != $i) {
					print "$name: inode $ino{$name} and $i\n";
					$bad = 1;
				}
				if (exists $name_of{$i} && $name_of{$i} ne $name) {
					print "inode $i: $name_of{$i} and $name\n";
					$bad = 1;
				}
				$ino{$name} = $i;
				$name_of{$i} = $name;
			}
			if ($lines != 320) {
				print "stat-er $k: $lines answers of 320\n";
				$bad = 1;
			}
		}
		exit($bad ? 1 : 0);' "$N" || rc=1
	return $rc
}
export MT_TMP

# ---- the tests -------------------------------------------------------------

tap_require "mount" mount_pd
tap_require "make the directories" make_tree
tap_require "unmount" unmount_volume "$MNT"

tap_require "mount (parallel-dirops on by default), cold" mount_pd
tap_check "log: parallel directory operations on" dirops_logged on
tap_check "on: $N lookups in one directory in flight at once" \
	overlap_case "$N"
tap_check "on: each stat gets its size or ENOENT" stats_right
tap_check "on: the calls were the $N lookups, nothing else" \
	only_lookups "$FOPS_BEFORE"
tap_check "unmount" unmount_volume "$MNT"

tap_require "mount with -o parallel-dirops=off, cold" \
	mount_pd parallel-dirops=off
tap_check "log: parallel directory operations off" \
	dirops_logged "off (parallel-dirops=off)"
tap_check "off: one lookup in one directory in flight at a time" \
	overlap_case 1
tap_check "off: each stat gets its size or ENOENT" stats_right
tap_check "off: the calls were the $N lookups, nothing else" \
	only_lookups "$FOPS_BEFORE"
tap_check "unmount" unmount_volume "$MNT"

tap_require "mount again (on), cold" mount_pd
tap_check "$N stat-ers and a lister in one directory of 300: all right" \
	all_at_once
tap_check "unmount" unmount_volume "$MNT"
