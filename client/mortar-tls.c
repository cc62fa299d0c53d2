/*
 * mortar-tls.c - the mount program's TLS options: one configuration for
 * the volfile fetch, and the same identity written into the graph's
 * protocol/clients.  See mortar-tls.h.
 */
#include "config.h"

#include "mortar-tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mortar_tls_for_fetch(const struct mortar_opts *o, struct rpc_tls **out,
			 char **err)
{
	struct rpc_tls_files f = {
	    .cert = o->tls_cert ? o->tls_cert : RPC_TLS_DIR "/client.crt",
	    .key = o->tls_key ? o->tls_key : RPC_TLS_DIR "/client.key",
	    .ca = o->tls_ca ? o->tls_ca : RPC_TLS_DIR "/ca.crt",
	};

	*out = NULL;
	*err = NULL;
	if (!o->tls)
		return 0;
	return rpc_tls_new(&f, false, out, err);
}

/* Set key to value in v, replacing an earlier value.  0 or -ENOMEM. */
static int mortar_tls_set(struct xl_volspec *v, const char *key,
			  const char *value)
{
	struct xl_volspec_option *opts;
	char *k, *val = strdup(value);

	if (!val)
		return -ENOMEM;
	for (int i = 0; i < v->option_count; i++)
		if (strcmp(v->options[i].key, key) == 0) {
			free(v->options[i].value);
			v->options[i].value = val;
			return 0;
		}
	k = strdup(key);
	opts =
	    realloc(v->options, (size_t)(v->option_count + 1) * sizeof(*opts));
	if (!k || !opts) {
		free(k);
		free(val);
		if (opts)
			v->options = opts;
		return -ENOMEM;
	}
	v->options = opts;
	opts[v->option_count].key = k;
	opts[v->option_count].value = val;
	opts[v->option_count].line = v->line; /* errors point at the volume */
	v->option_count++;
	return 0;
}

int mortar_tls_apply(const struct mortar_opts *o, struct xl_volfile *vf)
{
	int ret = 0;

	if (!o->tls)
		return 0;
	for (int i = 0; i < vf->volume_count && ret == 0; i++) {
		struct xl_volspec *v = &vf->volumes[i];

		if (!v->type || strcmp(v->type, "protocol/client") != 0)
			continue;
		ret = mortar_tls_set(v, "tls", "on");
		if (ret == 0 && o->tls_cert)
			ret = mortar_tls_set(v, "tls-cert", o->tls_cert);
		if (ret == 0 && o->tls_key)
			ret = mortar_tls_set(v, "tls-key", o->tls_key);
		if (ret == 0 && o->tls_ca)
			ret = mortar_tls_set(v, "tls-ca", o->tls_ca);
	}
	return ret;
}
