/*
 * fuzz-cluster.c - what the cluster translators decode from brick xattrs:
 * distribute's per-directory ranges (dht_range_decode, then the layout
 * check and search) and replicate's pending counters (afr_pending_row,
 * then the verdict).  Both run on whatever a brick's xattrs hold, so a
 * corrupt or hostile brick must only ever get a verdict, never a crash;
 * and the verdicts must hold their invariants:
 *   distribute: a layout judged OK maps every hash to exactly one
 *     subvolume, the one whose range holds it;
 *   replicate: sources and sinks split the copies that answered, a
 *     split-brain has no source, a heal source is a source.
 *
 * Input: byte 0 picks the translator and the number of children; then
 * 16-byte ranges (distribute) or per-copy counter values (replicate);
 * the last bytes are the hashes to look up.
 */
#include "config.h"

#include "dht-layout.h"
#include "replicate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_layout(int n, const uint8_t *data, size_t size)
{
	struct dht_range ranges[16];
	enum dht_layout_state st;

	for (int i = 0; i < n; i++) {
		size_t len =
		    size >= DHT_LAYOUT_XATTR_LEN ? DHT_LAYOUT_XATTR_LEN : size;

		/* a short tail is a truncated xattr: refused, not read past */
		(void)dht_range_decode(len ? data : NULL, len, &ranges[i]);
		data += len;
		size -= len;
	}
	st = dht_layout_check(ranges, n, NULL);
	(void)dht_layout_state_str(st);
	for (; size >= 4; data += 4, size -= 4) {
		uint32_t h = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
			     (uint32_t)data[2] << 8 | data[3];
		int idx = dht_layout_search(ranges, n, h), owners = 0;

		for (int i = 0; i < n; i++)
			owners += ranges[i].present &&
				  !dht_range_empty(&ranges[i]) &&
				  ranges[i].start <= h && h <= ranges[i].stop;
		if (idx >= 0 && (idx >= n || !ranges[idx].present ||
				 ranges[idx].start > h || h > ranges[idx].stop))
			abort(); /* found a subvolume that does not own h */
		if (st == DHT_LAYOUT_OK && (idx < 0 || owners != 1))
			abort(); /* OK, yet h has no or two owners */
	}
}

typedef int64_t fuzz_matrix[AFR_MAX_CHILDREN][AFR_MAX_CHILDREN][AFR_TYPES];

static void fuzz_judge(int n, const uint8_t *data, size_t size)
{
	static fuzz_matrix m;
	char keys[AFR_MAX_CHILDREN][32];
	struct afr_priv priv;
	struct afr_verdict v;
	uint32_t valid = 0;

	memset(&priv, 0, sizeof(priv));
	priv.n = n;
	for (int j = 0; j < n; j++) {
		snprintf(keys[j], sizeof(keys[j]), "trusted.mortar.afr.c-%d",
			 j);
		priv.pending_key[j] = keys[j];
	}
	if (size >= 2) {
		valid = ((uint32_t)data[0] << 8 | data[1]) & ((1u << n) - 1);
		priv.arbiters = size >= 3 ? data[2] & ((1u << n) - 1) : 0;
		data += size >= 3 ? 3 : 2;
		size -= size >= 3 ? 3 : 2;
	}
	/* copy i's xattrs: for each child j a value of a length the input
	 * says (a counter value is 24 bytes; any other length too) */
	for (int i = 0; i < n; i++) {
		struct xl_dict *d = xl_dict_new();

		if (!d)
			return;
		for (int j = 0; j < n && size > 0; j++) {
			size_t len = data[0] % 32;

			data++;
			size--;
			if (len > size)
				len = size;
			if (xl_dict_set(d, keys[j], data, len) != 0)
				break;
			data += len;
			size -= len;
		}
		afr_pending_row(&priv, d, m[i]);
		xl_dict_unref(d);
	}
	afr_judge(&priv, valid, m, &v);
	for (int t = 0; t < AFR_TYPES; t++) {
		uint32_t heal = afr_heal_sources(&priv, &v, t);

		if ((v.sources[t] | v.sinks[t]) != valid ||
		    (v.sources[t] & v.sinks[t]) != 0)
			abort(); /* sources and sinks split the answers */
		if ((v.sb & (1u << t)) && v.sources[t])
			abort(); /* a split-brain with a source */
		if (heal & ~v.sources[t])
			abort(); /* a heal from a copy that is no source */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n;

	if (size < 1)
		return 0;
	n = (data[0] & 0x0f) + 1;
	if (data[0] & 0x80)
		fuzz_layout(n, data + 1, size - 1);
	else
		fuzz_judge(n, data + 1, size - 1);
	return 0;
}
