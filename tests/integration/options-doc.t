#!/bin/bash
# options-doc.t - doc/options.md is the translators' option tables,
# printed by mortar-options: a changed option table without a regenerated
# reference fails here.  Also: mortar-options refuses an unknown type.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
export MORTAR_XLATOR_PATH=$top_builddir/translators
tool=$top_builddir/extras/tools/mortar-options
doc=$top_srcdir/doc/options.md
types="storage/posix features/locks features/arbiter features/upcall performance/io-threads performance/write-behind performance/md-cache protocol/server protocol/client debug/trace debug/error-gen cluster/unify cluster/distribute cluster/replicate"
echo "1..2"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2086
if "$tool" --markdown $types >"$tmp" && sed -n '/^| translator |/,$p' "$doc" | diff -u - "$tmp"; then
	echo "ok 1 - doc/options.md matches the option tables"
else
	echo "not ok 1 - doc/options.md differs from the option tables (regenerate it)"
fi
if "$tool" test/no-such-type >/dev/null 2>"$tmp" && true; then
	echo "not ok 2 - unknown type accepted"
elif grep -q "unknown translator type 'test/no-such-type'" "$tmp"; then
	echo "ok 2 - unknown type is a clear error"
else
	echo "not ok 2 - unexpected error text: $(cat "$tmp")"
fi
