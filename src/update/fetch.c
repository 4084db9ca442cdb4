/*
 * fetch.c - bounded downloads over libcurl (contract in fetch.h).
 */
#include "update/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

struct sink {
	uint64_t max, got;
	vg_fetch_sink cb;
	void *ctx;
	vg_rc rc;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (len > s->max - s->got) {
		s->rc = VG_ERR_TOO_LARGE;
		return 0; /* aborts the transfer */
	}
	s->got += len;
	s->rc = s->cb(s->ctx, (const uint8_t *)p, len);
	return s->rc == VG_OK ? len : 0;
}

/* A plain path (no scheme): read it here, bounded like a download. */
static vg_rc fetch_path(const char *path, uint64_t max, struct sink *s, char *why)
{
	uint8_t buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	vg_rc rc = VG_OK;

	if (fd < 0) {
		int e = errno;
		(void)snprintf(why, VG_FETCH_WHY_LEN, "%.200s: %s", path, strerror(e));
		return e == ENOENT || e == ENOTDIR ? VG_ERR_NOT_FOUND : VG_ERR_IO;
	}
	s->max = max;
	while (rc == VG_OK) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = VG_ERR_IO;
			(void)snprintf(why, VG_FETCH_WHY_LEN, "%.200s: read error", path);
		}
		if (n <= 0)
			break;
		if (on_data((char *)buf, 1, (size_t)n, s) != (size_t)n)
			rc = s->rc;
	}
	if (rc == VG_ERR_TOO_LARGE)
		(void)snprintf(why, VG_FETCH_WHY_LEN,
			       "%.150s: more than the %" PRIu64 " bytes the metadata allows", path,
			       max);
	(void)close(fd);
	return rc;
}

static bool has_scheme(const char *url)
{
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0 ||
	       strncmp(url, "file://", 7) == 0;
}

vg_rc vg_fetch_stream(const char *url, const char *ca_file, uint64_t max, vg_fetch_sink cb,
		      void *ctx, char *why)
{
	struct sink s = {.max = max, .cb = cb, .ctx = ctx, .rc = VG_OK};
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode cc;
	CURL *c;

	why[0] = '\0';
	if (!has_scheme(url))
		return fetch_path(url, max, &s, why);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return VG_ERR_INTERNAL;
	c = curl_easy_init();
	if (!c)
		return VG_ERR_NOMEM;
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	(void)curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
			       strncmp(url, "https://", 8) == 0 ? "https" : "http,https");
	(void)curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	(void)curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	(void)curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file) {
		(void)curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
		(void)curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	(void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	(void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	(void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)VG_FETCH_STALL_S);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	(void)curl_easy_setopt(c, CURLOPT_USERAGENT, "voxguard-update/1");
	cc = curl_easy_perform(c);
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (s.rc != VG_OK) {
		if (s.rc == VG_ERR_TOO_LARGE)
			(void)snprintf(why, VG_FETCH_WHY_LEN,
				       "%.150s: more than the %" PRIu64
				       " bytes the metadata allows (endless data?)",
				       url, max);
		return s.rc;
	}
	if (cc == CURLE_FILE_COULDNT_READ_FILE) {
		(void)snprintf(why, VG_FETCH_WHY_LEN, "%.200s: not found", url);
		return VG_ERR_NOT_FOUND;
	}
	if (cc != CURLE_OK) {
		(void)snprintf(why, VG_FETCH_WHY_LEN, "%.120s: %.120s", url,
			       errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return VG_ERR_IO;
	}
	if (strncmp(url, "file://", 7) != 0 && status != 200) {
		(void)snprintf(why, VG_FETCH_WHY_LEN, "%.200s: HTTP %ld", url, status);
		return status == 403 || status == 404 ? VG_ERR_NOT_FOUND : VG_ERR_IO;
	}
	return VG_OK;
}

struct membuf {
	uint8_t *p;
	size_t len, cap;
};

static vg_rc to_mem(void *ctx, const uint8_t *p, size_t n)
{
	struct membuf *m = ctx;

	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 16384;
		uint8_t *np;
		while (cap < m->len + n)
			cap *= 2;
		np = realloc(m->p, cap);
		if (!np)
			return VG_ERR_NOMEM;
		m->p = np;
		m->cap = cap;
	}
	memcpy(m->p + m->len, p, n);
	m->len += n;
	return VG_OK;
}

vg_rc vg_fetch(const char *url, const char *ca_file, size_t max, uint8_t **out, size_t *len,
	       char *why)
{
	struct membuf m = {0};
	vg_rc rc = vg_fetch_stream(url, ca_file, max, to_mem, &m, why);

	*out = NULL;
	*len = 0;
	if (rc != VG_OK) {
		free(m.p);
		return rc;
	}
	if (!m.p) {
		m.p = malloc(1);
		if (!m.p)
			return VG_ERR_NOMEM;
	}
	*out = m.p;
	*len = m.len;
	return VG_OK;
}
