#!/bin/bash
#
# graph-switch.t: a mounted client switches to a newer client volfile
# live.  On a distribute and a unify volume of 2 bricks, a writer with an
# open file appends checksummed records and a reader with an open file
# reads another file whole again and again, while the volfiles change:
#
#   - add-brick (mortar-volgen --force with one more brick, the brick
#     started): the client switches (its log says to which version), the
#     writer and reader never get an error, the data reads back identical
#     (sha256), new files land on the new brick too, and the old graph's
#     connections are closed (the mount keeps one per brick);
#   - an option change (write-behind's window-size, seen in a state dump);
#   - performance/md-cache added to a graph without it;
#   - a file with a POSIX lock stays on the old graph (and keeps working)
#     until it is closed; then the old graph goes;
#   - a volfile with a syntax error: the log names its line, and the mount
#     keeps working on the old graph;
#   - the bricks watch their volfile directory and tell their clients when
#     a client volfile changes: a mount that asks only every hour switches
#     within seconds.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-300}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

command -v python3 >/dev/null || skip_all "python3 is missing"
command -v ss >/dev/null || skip_all "ss (iproute2) is missing"
[ -e "$top_builddir/translators/cluster/unify/.libs/unify.so" ] ||
	skip_all "cluster/unify is not built"
plan 56

IO=$top_srcdir/tests/tools/switch-io.py
STOP=$MT_TMP/stop
M= # the mount of the current checks
LOG=
WPID=
RPID=
LPID=

# ---- helpers ----------------------------------------------------------

switches() { grep -c "switched to volfile version" "$LOG"; }
switched_since() { [ "$(switches)" -gt "$1" ]; }
drains() { grep -c "drained: destroyed" "$LOG"; }
drained_since() { [ "$(drains)" -gt "$1" ]; }

# records FILE: whole records in a writer's file so far
records() { echo $(($(stat -c %s "$1") / 4096)); }
grown_to() { [ "$(records "$1")" -ge "$2" ]; }

# start_io: the writer on $M/w.dat, the reader on $M/r.dat (1 MiB of
# random data written first); both running with their files open.
start_io() {
	rm -f "$STOP" "$MT_TMP"/w.out* "$MT_TMP"/r.out* "$M/w.dat"
	head -c 1048576 /dev/urandom >"$MT_TMP/r.src" &&
		cp "$MT_TMP/r.src" "$M/r.dat" || return 1
	python3 "$IO" write "$M/w.dat" "$STOP" "$MT_TMP/w.out" \
		2>"$MT_TMP/w.err" &
	WPID=$!
	mt_track .pids "$WPID"
	python3 "$IO" read "$M/r.dat" "$STOP" "$MT_TMP/r.out" \
		2>"$MT_TMP/r.err" &
	RPID=$!
	mt_track .pids "$RPID"
	wait_for 20 test -e "$MT_TMP/w.out.ready" &&
		wait_for 20 test -e "$MT_TMP/r.out.ready" &&
		wait_for 20 grown_to "$M/w.dat" 20
}

# stop_io: both end with status 0 (no error), within 20 s.
stop_io() {
	local rc=0
	touch "$STOP"
	wait_for 20 mt_pid_gone "$WPID" && wait_for 20 mt_pid_gone "$RPID" ||
		return 1
	wait "$WPID" || rc=1
	wait "$RPID" || rc=1
	mt_untrack .pids "$WPID"
	mt_untrack .pids "$RPID"
	[ $rc -eq 0 ] || {
		diag_file "$MT_TMP/w.err"
		diag_file "$MT_TMP/r.err"
	}
	return $rc
}

# io_intact: every record the writer wrote reads back, in order, with the
# sha256 it computed; the reader saw the same bytes on every pass, and
# they are the source's.
io_intact() {
	local n want got
	n=$(python3 "$IO" check "$M/w.dat") || return 1
	want="records=$n sha256=$(sha256sum "$M/w.dat" | cut -d' ' -f1)"
	got=$(cat "$MT_TMP/w.out")
	[ "$want" = "$got" ] || {
		diag "writer: wrote '$got', reads back '$want'"
		return 1
	}
	got=$(sed -n 's/.*sha256=//p' "$MT_TMP/r.out")
	want=$(sha256sum "$MT_TMP/r.src" | cut -d' ' -f1)
	[ "$got" = "$want" ] || {
		diag "reader: read $got, the file is $want"
		return 1
	}
}

# switch_live WHAT CMD...: with the writer and reader running, CMD
# changes the volfiles; the client switches and moves both open files,
# the I/O goes on after it, and both end without an error.
switch_live() {
	local what=$1 n
	shift
	n=$(switches)
	start_io || return 1
	"$@" || return 1
	if ! wait_for 30 switched_since "$n"; then
		diag "no switch after $what"
		diag_file "$LOG"
		return 1
	fi
	# The I/O goes on through the new graph.
	if ! wait_for 20 grown_to "$M/w.dat" $(($(records "$M/w.dat") + 20)); then
		diag "$what: the writer did not go on after the switch"
		diag_file "$LOG"
		return 1
	fi
	stop_io || {
		diag "$what: the writer or the reader failed"
		return 1
	}
	moved_both "$n" || {
		diag "$what: not both open files moved:"
		grep "open files moved" "$LOG" | diag_file -
		return 1
	}
}

# mount_connections: TCP connections of the mount to the bricks.
mount_connections() {
	ss -Htnp state established 2>/dev/null |
		grep -c "pid=$MOUNT_PID,"
}
connections_are() { [ "$(mount_connections)" -eq "$1" ]; }

# moved_both SINCE: the switches after the first SINCE ones moved both
# open files and kept none on a replaced graph.  (add_brick writes the
# volfiles twice, the second time with the new brick's port: the client
# may switch to each.)
# A file the mover could not catch idle (calls kept coming for 5 s) stays
# on its old graph until it is closed: allowed, but said (the old graph
# must still drain once the files close: drained_since).
moved_both() {
	local kept
	kept=$(grep "open files moved" "$LOG" | tail -n "+$(($1 + 1))" |
		awk -F'[:;] ' '{kept += $4} END {print kept + 0}')
	[ "$kept" -eq 0 ] || diag "$kept open file(s) kept on a replaced graph until closed"
	grep "open files moved" "$LOG" | tail -n "+$(($1 + 1))" |
		awk -F'[:;] ' '{moved += $2; kept += $4}
			END {exit !(moved + kept >= 2 && moved >= 1)}'
}

# on_brick BRICK DIR: some regular file of DIR is on BRICK.
on_brick() {
	find "$(brick_dir "$1")/$2" -maxdepth 1 -type f -name 'n*' \
		2>/dev/null | grep -q .
}
make_files() { # DIR
	mkdir -p "$M/$1" && for i in $(seq 1 30); do
		echo "$i" >"$M/$1/n$i" || return 1
	done
}

# ---- add-brick, on distribute and on unify -----------------------------

add_brick_case() { # VOL TYPE DIR-FOR-NEW-FILES
	local v=$1 d=$3 drained n
	tap_require "$v: start a $2 volume of 2 bricks" start_volume "$v" "$2" 2
	M=$MT_TMP/mnt-$v
	LOG=$MT_TMP/logs/mount-mnt-$v.log
	tap_require "$v: mount it, asking for a newer volfile every second" \
		mount_volume_of "$v" "$M" volfile-check-interval=1
	tap_check "$v: the mount has one connection per brick" \
		wait_for 10 connections_are 2
	drained=$(drains)
	n=$(switches)
	tap_check "$v: add-brick while a writer and a reader have files open: switched, no error" \
		switch_live add-brick add_brick "$v"
	tap_check "$v: both open files moved to the new graph (or kept until closed)" \
		moved_both "$n"
	tap_check "$v: what they wrote and read is intact (sha256)" io_intact
	tap_check "$v: the old graph drained and was destroyed" \
		wait_for 20 drained_since "$drained"
	tap_check "$v: its connections are closed: one per brick of the new graph" \
		wait_for 20 connections_are 3
	tap_check "$v: new files are made" make_files "$d"
	tap_check "$v: some land on the new brick" on_brick "$v-b2" "$d"
	tap_check "$v: the writer's file reads back after the switch too" \
		python3 "$IO" check "$M/w.dat"
}

add_brick_case gd distribute newdir
G_DIST_MOUNT=$M
add_brick_case gu unify .
tap_check "gu: unmount" unmount_volume "$M"
tap_check "gu: stop the volume" stop_volume gu

# ---- an option change, a cache added, a broken volfile -----------------

V=gs
tap_require "$V: start a distribute volume of 2 bricks without md-cache" \
	start_volume $V distribute 2 --no-md-cache
M=$MT_TMP/mnt-$V
LOG=$MT_TMP/logs/mount-mnt-$V.log
tap_require "$V: mount it" mount_volume_of $V "$M" volfile-check-interval=1

# set_opts OPTS...: the volume's mortar-volgen options now; volfiles
# written again (the version goes up).
set_opts() {
	MT_VOL_OPTS[$V]=$(printf '%q ' "$@")
	mt_volgen $V
}
window_is() { # SIZE: in a fresh state dump of the mount
	[ "$(mt_dump_value "$MOUNT_PID" option.window-size)" = "$1" ]
}
has_md_cache() {
	local path
	path=$(mt_state_dump "$MOUNT_PID") &&
		grep -qx "type=performance/md-cache" "$path"
}

tap_check "$V: write-behind's window-size changed: switched, no error" \
	switch_live option set_opts --no-md-cache \
	--option performance/write-behind:window-size=2MB
tap_check "$V: data intact" io_intact
tap_check "$V: the mount runs the new option" wait_for 10 window_is 2MB
tap_check "$V: md-cache is not there yet" eval '! has_md_cache'
tap_check "$V: md-cache added: switched, no error" \
	switch_live md-cache set_opts \
	--option performance/write-behind:window-size=2MB
tap_check "$V: data intact" io_intact
tap_check "$V: the mount runs md-cache now" has_md_cache

# A file with a POSIX lock held across a switch.
start_locker() {
	rm -f "$STOP" "$MT_TMP/l.out"
	python3 "$IO" lock "$M/locked" "$STOP" "$MT_TMP/l.out" \
		2>"$MT_TMP/l.err" &
	LPID=$!
	mt_track .pids "$LPID"
	wait_for 10 test -s "$M/locked"
}
stop_locker() {
	touch "$STOP"
	wait_for 20 mt_pid_gone "$LPID" || return 1
	mt_untrack .pids "$LPID"
	wait "$LPID" || {
		diag_file "$MT_TMP/l.err"
		return 1
	}
}
kept_locked() {
	grep "open files moved" "$LOG" | tail -n 1 |
		grep -q "kept on the replaced graph until closed: 1"
}
locked_file_whole() { # every write the locker made reads back
	local n
	n=$(sed -n 's/^writes=//p' "$MT_TMP/l.out")
	[ -n "$n" ] && [ "$(wc -l <"$M/locked")" -eq "$n" ] &&
		[ "$(tail -n 1 "$M/locked")" = "$(printf '%08d' $((n - 1)))" ]
}
N_SW=$(switches)
N_DR=$(drains)
tap_check "$V: a process holds a POSIX lock on an open file" start_locker
change_window() {
	set_opts --option performance/write-behind:window-size=1MB &&
		wait_for 30 switched_since "$N_SW"
}
old_graph_stays() { ! wait_for 3 drained_since "$N_DR"; }
tap_check "$V: another option change: switched" change_window
tap_check "$V: the locked file stays on the old graph" kept_locked
tap_check "$V: the old graph is not destroyed while it is open" \
	old_graph_stays
tap_check "$V: the locker closes it without an error" stop_locker
tap_check "$V: every write it made reads back" locked_file_whole
tap_check "$V: then the old graph drains and goes" \
	wait_for 20 drained_since "$N_DR"

# break_volfile: a served volfile with a higher version and a syntax error
# on line 4.
break_volfile() {
	local f=${MT_VOL_DIR[$V]}/$V.vol
	cp "$f" "$MT_TMP/good.vol" &&
		printf '# version 1000\nvolume broken\n    type debug/trace\n    option\nend-volume\n' \
			>"$f.new" && mv "$f.new" "$f"
}
refused_with_line() {
	grep "does not build" "$LOG" | grep -q ":4:.*keeping the running graph"
}
mount_works() {
	echo still >"$M/after-broken" && [ "$(cat "$M/after-broken")" = still ]
}
# A second mount that would ask only every hour: it learns of new
# volfiles from the bricks' notices.
M2=$MT_TMP/mnt-${V}2
LOG2=$MT_TMP/logs/mount-mnt-${V}2.log
MAIN_PID=$MOUNT_PID
tap_require "$V: a second mount, asking for a newer volfile only every hour" \
	mount_volume_of $V "$M2" volfile-check-interval=3600
MOUNT_PID=$MAIN_PID

N_SW=$(switches)
tap_check "$V: a broken volfile is served" break_volfile
tap_check "$V: the client refuses it and logs the line" \
	wait_for 20 refused_with_line
no_switch() { [ "$(switches)" -eq "$N_SW" ]; }
tap_check "$V: it did not switch" no_switch
tap_check "$V: the mount still works on the old graph" mount_works
tap_check "$V: files written before read back" io_intact

restore_volfile() { # the good one, as version 1001
	sed '1s/^# version .*/# version 1001/' "$MT_TMP/good.vol" \
		>"${MT_VOL_DIR[$V]}/$V.vol.new" &&
		mv "${MT_VOL_DIR[$V]}/$V.vol.new" "${MT_VOL_DIR[$V]}/$V.vol"
}
switched_1001() { grep -q "switched to volfile version 1001 " "$1"; }
told_clients() {
	grep -q "client volfile $V.vol changed: telling" \
		"$MT_TMP/logs/brick-$V-b0.log"
}
tap_check "$V: a good volfile again (version 1001)" restore_volfile
tap_check "$V: the hourly mount switches within seconds (a brick's notice)" \
	wait_for 15 switched_1001 "$LOG2"
tap_check "$V: the brick logged that it told its clients" told_clients
tap_check "$V: the first mount switched too" wait_for 15 switched_1001 "$LOG"
tap_check "$V: the hourly mount reads what the first wrote" \
	cmp "$M/after-broken" "$M2/after-broken"
tap_check "$V: unmount the hourly mount" unmount_volume "$M2"

tap_check "gd: unmount" unmount_volume "$G_DIST_MOUNT"
tap_check "gd: stop the volume" stop_volume gd
tap_check "$V: unmount" unmount_volume "$M"
tap_check "$V: stop the volume" stop_volume $V
mt_summary
