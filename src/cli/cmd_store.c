/* cmd_store.c - `voxguard store ...`: secure storage (SFR 4.2.4) */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/util.h"

static int store_put(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "in=";
	struct cli_opts o;
	vg_client *c = NULL;
	uint8_t *val = NULL;
	size_t len = 0;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e)
		return e;
	rc = cli_read(cli_opt(&o, spec, "in"), VG_MAX_VALUE_LEN, &val, &len);
	if (rc != VG_OK)
		return cli_fail("store put: cannot read the value: %s%s", vg_rc_str(rc),
				rc == VG_ERR_TOO_LARGE ? " (16 MiB at most)" : "");
	if (!(e = cli_connect(cli, &c))) {
		rc = vg_store_put(c, o.pos[0], val, len);
		if (rc != VG_OK)
			e = cli_fail_rc(c, "store put", rc);
	}
	vg_free(val, len);
	vg_client_close(&c);
	return e;
}

static int store_get(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "out=";
	struct cli_opts o;
	vg_client *c = NULL;
	uint8_t *val = NULL;
	size_t len = 0;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_store_get(c, o.pos[0], &val, &len);
	if (rc == VG_OK) {
		e = cli_write(cli_opt(&o, spec, "out"), val, len);
	} else {
		e = cli_fail_rc(c, "store get", rc);
	}
	vg_free(val, len);
	vg_client_close(&c);
	return e;
}

/* {"records": [{"name": ...}, ...]}: one object per record, so that
 * what else a record shows can be added later (docs/voxguard.1). */
static int list_json(char **names, size_t n)
{
	json_t *obj = json_object(), *arr = json_array();
	bool ok = obj && arr;

	for (size_t i = 0; ok && i < n; i++)
		ok = json_array_append_new(arr, json_pack("{s:s}", "name", names[i])) == 0;
	ok = ok && json_object_set(obj, "records", arr) == 0;
	json_decref(arr);
	if (!ok) {
		json_decref(obj);
		return cli_fail("store list: out of memory");
	}
	return cli_print_json(obj);
}

static int store_list(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "json";
	struct cli_opts o;
	vg_client *c = NULL;
	char **names = NULL;
	size_t n = 0;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_store_list(c, &names, &n);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "store list", rc);
	else if (cli_flag(&o, spec, "json"))
		e = list_json(names, n);
	else
		for (size_t i = 0; i < n; i++)
			(void)printf("%s\n", names[i]);
	vg_strv_free(names, n);
	vg_client_close(&c);
	return e;
}

static int store_delete(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_client *c = NULL;
	int e = cli_parse("", argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_store_delete(c, o.pos[0]);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "store delete", rc);
	vg_client_close(&c);
	return e;
}

static const struct cli_cmd store_cmds[] = {
    {"put", store_put, "NAME [--in F]: store a value (stdin by default), 16 MiB at most"},
    {"get", store_get, "NAME [--out F]: print a value (stdout by default)"},
    {"list", store_list, "[--json]: list your records"},
    {"delete", store_delete, "NAME"},
};

int cmd_store(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "store", store_cmds, VG_ARRAY_LEN(store_cmds), argc, argv);
}
