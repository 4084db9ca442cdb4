/* cmd_stream.c - `voxguard stream encrypt|decrypt`: encrypted audio
 * streams over pipes (include/voxguard/stream.h; SFR 4.2.7, 4.2.8 note 7;
 * docs/AUDIO.md). One frame in, one frame out: nothing waits for the end
 * of the stream, so a live recording goes through with one frame of
 * latency. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "common/util.h"
#include "voxguard/stream.h"

/* Reads up to n bytes (fewer only at the end of input); -1 on error. */
static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static bool parse_size(const char *s, size_t min, size_t max, size_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (size_t)v;
	return true;
}

/* The frame size: --frame-bytes N, or --frame-ms, --rate, --channels and
 * --bytes-per-sample (20 ms of 16 kHz mono S16 by default: 640 bytes). */
static int frame_bytes(const struct cli_opts *o, const char *spec, size_t *out)
{
	size_t ms = 20, rate = 16000, ch = 1, bps = 2;
	const char *fb = cli_opt(o, spec, "frame-bytes");

	if (fb) {
		if (!parse_size(fb, 1, VG_STREAM_FRAME_MAX, out))
			return cli_fail("stream encrypt: --frame-bytes takes 1..%u",
					VG_STREAM_FRAME_MAX);
		return 0;
	}
	if ((cli_opt(o, spec, "frame-ms") && !parse_size(cli_opt(o, spec, "frame-ms"), 1, 1000, &ms)) ||
	    (cli_opt(o, spec, "rate") && !parse_size(cli_opt(o, spec, "rate"), 1, 768000, &rate)) ||
	    (cli_opt(o, spec, "channels") && !parse_size(cli_opt(o, spec, "channels"), 1, 64, &ch)) ||
	    (cli_opt(o, spec, "bytes-per-sample") &&
	     !parse_size(cli_opt(o, spec, "bytes-per-sample"), 1, 8, &bps)))
		return cli_fail("stream encrypt: --frame-ms 1..1000, --rate 1..768000, --channels "
				"1..64, --bytes-per-sample 1..8");
	if (rate * ch * bps * ms % 1000 != 0 || rate * ch * bps * ms / 1000 == 0 ||
	    rate * ch * bps * ms / 1000 > VG_STREAM_FRAME_MAX)
		return cli_fail("stream encrypt: a frame of %zu ms at %zu Hz, %zu channels, %zu "
				"bytes per sample is not a whole number of bytes in 1..%u",
				ms, rate, ch, bps, VG_STREAM_FRAME_MAX);
	*out = rate * ch * bps * ms / 1000;
	return 0;
}

static int stream_encrypt(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "from=,frame-ms=,rate=,channels=,bytes-per-sample=,frame-bytes=";
	struct cli_opts o;
	vg_stream_pub to[VG_STREAM_MAX_RECIPIENTS];
	uint8_t *der[VG_STREAM_MAX_RECIPIENTS] = {0};
	char **rest = calloc((size_t)argc + 1, sizeof *rest);
	uint8_t hdr[VG_STREAM_HDR_MAX], *pt = NULL, *wire = NULL;
	size_t n_to = 0, frame = 0, hdr_len = 0, out_len = 0;
	int n_rest = 0, e = 0;
	vg_client *c = NULL;
	vg_stream_sender *s = NULL;
	const char *from;
	vg_rc rc;

	if (!rest)
		return cli_fail("stream encrypt: out of memory");
	/* --to may be given up to 16 times: collected here, the rest parsed
	 * as usual. */
	for (int i = 0; i < argc && !e; i++) {
		if (strcmp(argv[i], "--to") != 0) {
			rest[n_rest++] = argv[i];
			continue;
		}
		if (i + 1 >= argc)
			e = cli_fail("option --to needs a value");
		else if (n_to >= VG_STREAM_MAX_RECIPIENTS)
			e = cli_fail("stream encrypt: at most %u recipients (--to)",
				     VG_STREAM_MAX_RECIPIENTS);
		else if (!(e = cli_read_pubkey(argv[++i], &der[n_to], &to[n_to].spki_len)))
			to[n_to].spki = der[n_to], n_to++;
	}
	if (!e)
		e = cli_parse(spec, n_rest, rest, &o, 0, 0);
	if (!e && n_to == 0)
		e = cli_fail("stream encrypt: --to PUB.pem is required (a recipient's public key: "
			     "voxguard key public NAME)");
	if (!e)
		e = frame_bytes(&o, spec, &frame);
	if (e)
		goto out;
	from = cli_opt(&o, spec, "from");
	if (from && (e = cli_connect(cli, &c)))
		goto out;
	rc = vg_stream_sender_new(to, n_to, c, from, hdr, &hdr_len, &s);
	if (rc != VG_OK) {
		if (rc == VG_ERR_INVALID)
			e = cli_fail("stream encrypt: the recipients' keys must all be X25519 or all "
				     "P-256, each given once");
		else
			e = cli_fail_rc(c, from ? "stream encrypt (--from: the sender's key)"
						: "stream encrypt",
					rc);
		goto out;
	}
	pt = malloc(frame);
	wire = malloc(VG_STREAM_WIRE_LEN(frame));
	if (!pt || !wire) {
		e = cli_fail("stream encrypt: out of memory");
		goto out;
	}
	if (write_full(STDOUT_FILENO, hdr, hdr_len) != 0) {
		e = cli_fail("stream encrypt: cannot write: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t got = read_full(STDIN_FILENO, pt, frame);
		bool last = got >= 0 && (size_t)got < frame;
		if (got < 0) {
			/* No final frame: the receiver reports the stream as
			 * truncated, as it is. */
			e = cli_fail("stream encrypt: cannot read: %s", strerror(errno));
			goto out;
		}
		rc = last ? vg_stream_finish(s, pt, (size_t)got, wire, VG_STREAM_WIRE_LEN(frame),
					     &out_len)
			  : vg_stream_seal_frame(s, pt, frame, wire, VG_STREAM_WIRE_LEN(frame),
						 &out_len);
		if (rc != VG_OK) {
			e = cli_fail("stream encrypt: %s", vg_rc_str(rc));
			goto out;
		}
		if (write_full(STDOUT_FILENO, wire, out_len) != 0) {
			e = cli_fail("stream encrypt: cannot write: %s", strerror(errno));
			goto out;
		}
		if (last)
			break;
	}
out:
	vg_stream_sender_free(&s);
	if (pt)
		vg_wipe(pt, frame);
	free(pt);
	free(wire);
	for (size_t i = 0; i < n_to; i++)
		OPENSSL_free(der[i]);
	free(rest);
	vg_client_close(&c);
	return e;
}

/* A refusal of the stream itself (it does not authenticate, is cut, is
 * not for this key): a negative answer, exit 1, with its cause. */
static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int refuse(const char *fmt, ...)
{
	va_list ap;

	(void)fprintf(stderr, "voxguard: stream decrypt: ");
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	return EXIT_NEGATIVE;
}

static int receiver_error(vg_client *c, const char *key, vg_rc rc)
{
	switch (rc) {
	case VG_ERR_PROTOCOL:
		return refuse("malformed stream header");
	case VG_ERR_NOT_FOUND:
		return refuse("wrong recipient: key %s is not a recipient of this stream", key);
	case VG_ERR_INTEGRITY:
		return refuse("the stream header does not authenticate for key %s (tampered header, "
			      "or the wrong sender)",
			      key);
	case VG_ERR_VERIFY_FAILED:
		return refuse("%s", "the stream's mode is not the one expected: --from names the "
				    "sender of an auth-mode stream, and only of one");
	default:
		return cli_fail_rc(c, "stream decrypt", rc);
	}
}

static int stream_decrypt(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "key=,from=";
	struct cli_opts o;
	vg_client *c = NULL;
	vg_stream_receiver *r = NULL;
	vg_key_info info;
	uint8_t hdr[VG_STREAM_HDR_MAX], *from = NULL, *frame = NULL, *pt = NULL;
	size_t from_len = 0, hdr_len = 0, len = 0, pt_len = 0;
	vg_stream_stats st;
	const char *key;
	unsigned flags;
	ssize_t got;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	key = cli_opt(&o, spec, "key");
	if (!key)
		return cli_fail("stream decrypt: --key NAME is required (your x25519 or p256 key)");
	if (cli_opt(&o, spec, "from") &&
	    (e = cli_read_pubkey(cli_opt(&o, spec, "from"), &from, &from_len)))
		return e;
	frame = malloc(VG_STREAM_WIRE_LEN(VG_STREAM_FRAME_MAX));
	pt = malloc(VG_STREAM_FRAME_MAX);
	if (!frame || !pt) {
		e = cli_fail("stream decrypt: out of memory");
		goto out;
	}
	/* The header: its prefix says how long it is (at most 4 KiB). */
	got = read_full(STDIN_FILENO, hdr, VG_STREAM_PREFIX_LEN);
	if (got < 0) {
		e = cli_fail("stream decrypt: cannot read: %s", strerror(errno));
		goto out;
	}
	if ((size_t)got < VG_STREAM_PREFIX_LEN ||
	    vg_stream_header_len(hdr, (size_t)got, &hdr_len) != VG_OK) {
		e = refuse("%s", "not a voxguard stream (garbage: no VGS1 header)");
		goto out;
	}
	got = read_full(STDIN_FILENO, hdr + VG_STREAM_PREFIX_LEN, hdr_len - VG_STREAM_PREFIX_LEN);
	if (got < 0 || (size_t)got < hdr_len - VG_STREAM_PREFIX_LEN) {
		e = refuse("%s", "truncated: the stream ended inside its header");
		goto out;
	}
	if ((e = cli_connect(cli, &c)))
		goto out;
	/* The key first, so that "no such key" and "not a recipient" are
	 * told apart. */
	rc = vg_key_info_get(c, key, &info);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "stream decrypt: --key", rc);
		goto out;
	}
	rc = vg_stream_receiver_new(c, key, from, from_len, hdr, hdr_len, &r);
	if (rc != VG_OK) {
		e = receiver_error(c, key, rc);
		goto out;
	}
	for (;;) {
		got = read_full(STDIN_FILENO, frame, VG_STREAM_FRAME_PREFIX_LEN);
		if (got == 0)
			break;
		if (got < 0) {
			e = cli_fail("stream decrypt: cannot read: %s", strerror(errno));
			goto out;
		}
		if ((size_t)got < VG_STREAM_FRAME_PREFIX_LEN) {
			e = refuse("%s", "truncated: the stream ended inside a frame");
			goto out;
		}
		rc = vg_stream_frame_len(frame, (size_t)got, &len);
		if (rc == VG_ERR_TOO_LARGE) {
			e = refuse("%s", "oversized frame: its length is over the bound (64 KiB of "
					 "audio); refused before reading it");
			goto out;
		}
		if (rc != VG_OK) {
			e = refuse("%s", "malformed frame");
			goto out;
		}
		got = read_full(STDIN_FILENO, frame + VG_STREAM_FRAME_PREFIX_LEN,
				len - VG_STREAM_FRAME_PREFIX_LEN);
		if (got < 0 || (size_t)got < len - VG_STREAM_FRAME_PREFIX_LEN) {
			e = refuse("%s", "truncated: the stream ended inside a frame");
			goto out;
		}
		rc = vg_stream_open_frame(r, frame, len, pt, VG_STREAM_FRAME_MAX, &pt_len, &flags);
		if (rc != VG_OK) {
			e = refuse("%s", vg_stream_receiver_why(r));
			goto out;
		}
		if (write_full(STDOUT_FILENO, pt, pt_len) != 0) {
			e = cli_fail("stream decrypt: cannot write: %s", strerror(errno));
			goto out;
		}
	}
	rc = vg_stream_receiver_end(r, &st);
	if (rc == VG_ERR_TRUNCATED) {
		e = refuse("%s", "truncated: the stream ended before its final frame");
		goto out;
	}
	if (st.missing)
		(void)fprintf(stderr,
			      "voxguard: stream decrypt: warning: %llu frame(s) missing (dropped or "
			      "lost); %llu decrypted\n",
			      (unsigned long long)st.missing, (unsigned long long)st.frames);
out:
	vg_stream_receiver_free(&r);
	if (pt)
		vg_wipe(pt, VG_STREAM_FRAME_MAX);
	free(pt);
	free(frame);
	OPENSSL_free(from);
	vg_client_close(&c);
	return e;
}

static const struct cli_cmd stream_cmds[] = {
    {"encrypt", stream_encrypt,
     "--to PUB.pem [--to PUB2.pem ...] [--from KEY] [--frame-ms 20 --rate 16000 --channels 1 "
     "--bytes-per-sample 2 | --frame-bytes N]: stdin (raw audio) -> stdout (stream)"},
    {"decrypt", stream_decrypt,
     "--key NAME [--from SENDER.pem]: stdin (stream) -> stdout (raw audio); exit 1 when "
     "the stream is refused (tampered, replayed, truncated, not for this key)"},
};

int cmd_stream(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "stream", stream_cmds, VG_ARRAY_LEN(stream_cmds), argc, argv);
}
