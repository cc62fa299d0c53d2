/*
 * replicate-judge.c - cluster/replicate's pure decisions: the verdict on
 * the pending counters (decoded from a copy's xattrs; who is a source, a
 * sink, what is in split-brain),
 * client quorum, which copy serves reads, and what an arbiter may be.
 * No I/O, no locks taken, no child called: replicate.c, replicate-read.c,
 * replicate-txn.c and the heal files ask, tests/unit/test_replicate_judge.c
 * drives this file alone (as dht-layout.c is for distribute).
 */
#include "config.h"

#include "replicate.h"

#include <stdatomic.h>
#include <string.h>

int afr_popcount(uint32_t m)
{
	return __builtin_popcount(m);
}

uint32_t afr_up_mask(struct afr_priv *priv)
{
	return atomic_load(&priv->up);
}

/* Client quorum: auto = more than half, or exactly half including the
 * first child; N = at least N; none = at least one. */
bool afr_quorum_ok(struct afr_priv *priv, uint32_t mask)
{
	int cnt = afr_popcount(mask);

	if (priv->quorum == 0)
		return cnt >= 1;
	if (priv->quorum > 0)
		return cnt >= priv->quorum;
	if (2 * cnt > priv->n)
		return true;
	return 2 * cnt == priv->n && (mask & 1u);
}

static int64_t afr_get_be64(const uint8_t *p)
{
	uint64_t u = 0;

	for (int i = 0; i < 8; i++)
		u = (u << 8) | p[i];
	return (int64_t)u;
}

/* One copy's counters from its xattrs (the brick's reply xdata): one
 * value per child, AFR_TYPES big-endian 64-bit counters each; a missing
 * or short value counts as zeros. */
void afr_pending_row(struct afr_priv *priv, const struct xl_dict *d,
		     int64_t row[][AFR_TYPES])
{
	const struct xl_dict_pair *p;

	for (int j = 0; j < priv->n; j++) {
		for (int t = 0; t < AFR_TYPES; t++)
			row[j][t] = 0;
		p = d ? xl_dict_get(d, priv->pending_key[j]) : NULL;
		if (!p || p->len < 8 * AFR_TYPES)
			continue;
		for (int t = 0; t < AFR_TYPES; t++)
			row[j][t] =
			    afr_get_be64((const uint8_t *)p->value + 8 * t);
	}
}

void afr_judge(struct afr_priv *priv, uint32_t valid,
	       int64_t (*m)[AFR_MAX_CHILDREN][AFR_TYPES], struct afr_verdict *v)
{
	memset(v, 0, sizeof(*v));
	for (int t = 0; t < AFR_TYPES; t++) {
		uint32_t accused = 0;

		for (int i = 0; i < priv->n; i++) {
			if (!(valid & (1u << i)))
				continue;
			for (int j = 0; j < priv->n; j++) {
				if (m[i][j][t] != 0)
					v->dirty[t] |= 1u << i;
				if (j != i && m[i][j][t] > m[i][i][t])
					accused |= 1u << j;
			}
		}
		v->sources[t] = valid & ~accused;
		v->sinks[t] = valid & accused;
		if ((valid & accused) && !v->sources[t])
			v->sb |= 1u << t;
	}
}

int afr_read_child_of(struct afr_priv *priv, const uint8_t *gfid, uint32_t bad,
		      uint32_t exclude)
{
	uint32_t cand = afr_up_mask(priv) & ~exclude & ~bad & ~priv->arbiters;
	uint32_t h;
	int pick, k;

	if (!cand)
		return -1;
	h = (uint32_t)priv->client_salt;
	if (gfid)
		for (int i = 0; i < XL_GFID_LEN; i++)
			h = (h ^ gfid[i]) * 16777619u;
	/* FNV's multiply leaves the low bits as they came (the salt's low
	 * bits are the pid's): mix them in before the modulo, or clients
	 * whose pids share their parity all read the same copy. */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	pick = (int)(h % (uint32_t)afr_popcount(cand));
	for (k = 0; k < priv->n; k++)
		if (cand & (1u << k)) {
			if (pick == 0)
				return k;
			pick--;
		}
	return -1;
}

bool afr_data_writable(const struct afr_priv *priv, uint32_t bad, uint32_t mask)
{
	if (!priv->arbiters)
		return true;
	return (mask & ~priv->arbiters & ~bad) != 0;
}

uint32_t afr_heal_sources(const struct afr_priv *priv,
			  const struct afr_verdict *v, int type)
{
	uint32_t src = v->sources[type];

	/* An arbiter witnesses but holds no data: never a data source.
	 * When it is the only copy nobody blames, the good data is away. */
	if (type == AFR_DATA)
		src &= ~priv->arbiters;
	return src;
}
