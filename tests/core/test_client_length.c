/* test_client_length.c — the client in length framing, against a plain Win32 byte-mode pipe server (not the core's). */
#include "coretest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------------------
 * The frame server: one byte-type pipe instance (PIPE_TYPE_BYTE | PIPE_READMODE_BYTE), synchronous, served by
 * one thread, written here with plain Win32 calls so these tests depend only on the wire format: a 4-byte
 * little-endian length and that many bytes, each way. It reads `batch` request frames, then answers each in
 * order, all the answers in one WriteFile. A request is a command or is echoed back:
 *   BIG <n>     answer n bytes of ct_fill(…, 0)
 *   SPLIT <n>   the same, written in pieces (1, 2 and 1 bytes of header, then 1, 10 and the rest of the body)
 *               with a pause after each, so the client meets partial reads
 *   DRIP <n>    the same, one byte every 50 ms
 *   LIE         a header announcing 0xFFFFFFF0 bytes, and nothing more (the connection stays open)
 *   CUTBODY     a header announcing 100 bytes, 10 of them, then the server closes its end
 *   CUTHEAD     2 bytes of a header, then the server closes its end
 *   SILENT      no answer; the connection stays open
 * Answers other than echoes and BIG are written at once, not with the batch: use them with a batch of 1.
 * The thread must not use ck_assert (Check is not thread-safe without fork): it records its first problem in
 * err, and the test checks err after the join.
 * ------------------------------------------------------------------------------------------------------- */
#define FS_MAX_BATCH 8

typedef struct fs {
    char name[CT_NAME_MAX];
    HANDLE pipe;
    HANDLE thread;
    unsigned batch;           /* request frames read before answering; default 1 */
    volatile LONG frames;     /* request frames received whole */
    DWORD first_avail;        /* bytes in the pipe when the first request's first byte arrived (PeekNamedPipe) */
    size_t last_len;          /* length of the last request frame */
    int closed;               /* the thread closed the pipe itself (CUT…) */
    char err[256];
} fs;

static void fs_fail(fs *s, const char *what, DWORD err)
{
    if (s->err[0] == '\0')
        snprintf(s->err, sizeof(s->err), "%s: error %lu", what, (unsigned long)err);
}

static DWORD fs_read_exact(HANDLE h, unsigned char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        DWORD k = 0;
        if (!ReadFile(h, buf + got, (DWORD)(n - got), &k, NULL))
            return GetLastError();
        got += k;
    }
    return 0;
}

static DWORD fs_write(HANDLE h, const void *buf, size_t n)
{
    DWORD put = 0;

    if (!WriteFile(h, buf, (DWORD)n, &put, NULL))
        return GetLastError();
    return put == n ? 0 : ERROR_WRITE_FAULT;
}

static void put_le32(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)(v & 0xffu);
    p[1] = (unsigned char)((v >> 8) & 0xffu);
    p[2] = (unsigned char)((v >> 16) & 0xffu);
    p[3] = (unsigned char)((v >> 24) & 0xffu);
}

/* One whole frame (header + body) in a malloc'd buffer of 4 + n bytes. */
static unsigned char *make_frame(const void *body, size_t n)
{
    unsigned char *f = malloc(4 + n + 1);

    if (f != NULL) {
        put_le32(f, n);
        if (n > 0)
            memcpy(f + 4, body, n);
    }
    return f;
}

/* Writes frame (total bytes) in the pieces given, then in pieces of `then` bytes (0: the rest at once), pausing
 * pause_ms after each write. */
static DWORD fs_write_pieces(HANDLE h, const unsigned char *frame, size_t total, const size_t *pieces, size_t npieces,
                             size_t then, unsigned pause_ms)
{
    size_t off = 0, i;
    DWORD err;

    for (i = 0; off < total; i++) {
        size_t k = i < npieces ? pieces[i] : then ? then : total - off;
        if (k > total - off)
            k = total - off;
        if ((err = fs_write(h, frame + off, k)) != 0)
            return err;
        off += k;
        if (pause_ms)
            Sleep(pause_ms);
    }
    return 0;
}

static int is_cmd(const unsigned char *body, size_t n, const char *cmd)
{
    size_t k = strlen(cmd);
    return n >= k && memcmp(body, cmd, k) == 0 && (n == k || body[k] == ' ');
}

static size_t cmd_arg(const unsigned char *body, size_t n)
{
    char text[32];
    size_t k = n < sizeof(text) - 1 ? n : sizeof(text) - 1;
    const char *sp;

    memcpy(text, body, k);
    text[k] = '\0';
    sp = strchr(text, ' ');
    return sp ? (size_t)strtoul(sp + 1, NULL, 10) : 0;
}

/* Answers one request; returns 0 to go on, 1 when the thread should end (the pipe was closed or left). */
static int fs_answer(fs *s, unsigned char *body, size_t n, unsigned char **out, size_t *out_len)
{
    static const size_t split[] = {1, 2, 1, 1, 10};
    unsigned char head[4], *payload = NULL, *frame = NULL;
    size_t m;
    DWORD err = 0;
    int end = 0;

    if (is_cmd(body, n, "BIG") || is_cmd(body, n, "SPLIT") || is_cmd(body, n, "DRIP")) {
        m = cmd_arg(body, n);
        payload = malloc(m + 1);
        if (payload == NULL) {
            fs_fail(s, "malloc", ERROR_NOT_ENOUGH_MEMORY);
            return 1;
        }
        ct_fill(payload, m, 0);
        frame = make_frame(payload, m);
        if (frame == NULL) {
            free(payload);
            fs_fail(s, "malloc", ERROR_NOT_ENOUGH_MEMORY);
            return 1;
        }
        if (body[0] == 'B') {
            /* Queued with the batch: written with the other answers. */
            *out = frame;
            *out_len = 4 + m;
            frame = NULL;
        } else if (body[0] == 'S') {
            err = fs_write_pieces(s->pipe, frame, 4 + m, split, sizeof(split) / sizeof(split[0]), 0, 30);
        } else {
            /* The client may give up half-way (its deadline): a failed write ends the thread quietly. */
            end = fs_write_pieces(s->pipe, frame, 4 + m, NULL, 0, 1, 50) != 0;
        }
    } else if (is_cmd(body, n, "LIE")) {
        put_le32(head, 0xFFFFFFF0u);
        err = fs_write(s->pipe, head, 4);
    } else if (is_cmd(body, n, "CUTBODY") || is_cmd(body, n, "CUTHEAD")) {
        unsigned char part[14];
        memset(part, 'x', sizeof(part));
        put_le32(part, 100);
        err = fs_write(s->pipe, part, body[3] == 'B' ? 14 : 2);
        /* Until the client has read what was sent, then the end of the connection mid-frame. */
        FlushFileBuffers(s->pipe);
        CloseHandle(s->pipe);
        s->pipe = INVALID_HANDLE_VALUE;
        s->closed = 1;
        end = 1;
    } else if (is_cmd(body, n, "SILENT")) {
        /* nothing */
    } else {
        *out = make_frame(body, n);
        *out_len = 4 + n;
        if (*out == NULL) {
            fs_fail(s, "malloc", ERROR_NOT_ENOUGH_MEMORY);
            end = 1;
        }
    }
    if (err != 0) {
        fs_fail(s, "WriteFile (answer)", err);
        end = 1;
    }
    free(frame);
    free(payload);
    return end;
}

static DWORD WINAPI fs_main(LPVOID arg)
{
    fs *s = arg;

    if (!ConnectNamedPipe(s->pipe, NULL)) {
        DWORD err = GetLastError();
        /* ERROR_NO_DATA: a client came and left before we got here (a refused connect): nothing to serve. */
        if (err != ERROR_PIPE_CONNECTED) {
            if (err != ERROR_NO_DATA)
                fs_fail(s, "ConnectNamedPipe", err);
            return 0;
        }
    }
    for (;;) {
        unsigned char *bodies[FS_MAX_BATCH] = {NULL}, *answers[FS_MAX_BATCH] = {NULL}, *all = NULL;
        size_t lens[FS_MAX_BATCH] = {0}, alens[FS_MAX_BATCH] = {0}, total = 0, off = 0;
        unsigned i, got = 0;
        int end = 0;
        DWORD err = 0;

        for (i = 0; i < s->batch && err == 0; i++) {
            unsigned char head[4];
            size_t n;
            if (s->frames == 0) {
                /* The first request: how much of it is in the pipe when its first byte is. */
                DWORD avail = 0;
                while (PeekNamedPipe(s->pipe, NULL, 0, NULL, &avail, NULL) && avail == 0)
                    Sleep(1);
                s->first_avail = avail;
            }
            err = fs_read_exact(s->pipe, head, 4);
            if (err != 0)
                break;
            n = (size_t)head[0] | ((size_t)head[1] << 8) | ((size_t)head[2] << 16) | ((size_t)head[3] << 24);
            bodies[i] = malloc(n + 1);
            if (bodies[i] == NULL) {
                err = ERROR_NOT_ENOUGH_MEMORY;
                break;
            }
            err = fs_read_exact(s->pipe, bodies[i], n);
            lens[i] = n;
            s->last_len = n;
            if (err == 0) {
                InterlockedIncrement(&s->frames);
                got++;
            }
        }
        /* The client closing its end is how every test ends: not a failure. */
        if (err != 0 && err != ERROR_BROKEN_PIPE && err != ERROR_PIPE_NOT_CONNECTED)
            fs_fail(s, "ReadFile (request)", err);
        for (i = 0; i < got && !end; i++)
            end = fs_answer(s, bodies[i], lens[i], &answers[i], &alens[i]);
        for (i = 0; i < got; i++)
            total += alens[i];
        if (!end && total > 0) {
            all = malloc(total);
            if (all == NULL) {
                fs_fail(s, "malloc", ERROR_NOT_ENOUGH_MEMORY);
                end = 1;
            } else {
                for (i = 0; i < got; i++)
                    if (alens[i] > 0) {
                        memcpy(all + off, answers[i], alens[i]);
                        off += alens[i];
                    }
                if ((err = fs_write(s->pipe, all, total)) != 0) {
                    fs_fail(s, "WriteFile (answers)", err);
                    end = 1;
                }
            }
        }
        for (i = 0; i < FS_MAX_BATCH; i++) {
            free(bodies[i]);
            free(answers[i]);
        }
        free(all);
        if (end || got < s->batch)
            return 0;
    }
}

static void wide_pipe_name(const char *name, wchar_t *out, size_t size)
{
    char full[CT_NAME_MAX + 16];
    size_t i;

    ck_assert_int_eq(ph_pipe_name_normalize(name, full, sizeof(full)), 0);
    ck_assert_uint_lt(strlen(full), size);
    for (i = 0; full[i] != '\0'; i++)
        out[i] = (wchar_t)full[i];
    out[i] = L'\0';
}

/* Creates the byte-type instance and starts its thread; batch requests are read before answering. */
static void fs_start(fs *s, const char *tag, unsigned batch)
{
    wchar_t wname[CT_NAME_MAX + 16];

    memset(s, 0, sizeof(*s));
    s->batch = batch ? batch : 1;
    ck_assert_uint_le(s->batch, FS_MAX_BATCH);
    ph_test_pipe_name(s->name, sizeof(s->name), tag);
    wide_pipe_name(s->name, wname, sizeof(wname) / sizeof(wname[0]));
    s->pipe = CreateNamedPipeW(wname, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 65536,
                               65536, 0, NULL);
    ck_assert_msg(s->pipe != INVALID_HANDLE_VALUE, "CreateNamedPipeW: error %lu", (unsigned long)GetLastError());
    s->thread = CreateThread(NULL, 0, fs_main, s, 0, NULL);
    ck_assert_ptr_nonnull(s->thread);
}

/* Joins the thread (the client must be closed first, so its reads end) and fails on its recorded problem. */
static void fs_stop(fs *s)
{
    DWORD w = WaitForSingleObject(s->thread, 10000);

    ck_assert_msg(w == WAIT_OBJECT_0, "the frame server thread did not end");
    CloseHandle(s->thread);
    if (s->pipe != INVALID_HANDLE_VALUE)
        CloseHandle(s->pipe);
    ck_assert_msg(s->err[0] == '\0', "frame server: %s", s->err);
}

static ph_client *length_client(const fs *s)
{
    ph_client *c = NULL;
    int rc;

    ck_assert_int_eq(ph_client_new(&c), 0);
    rc = ph_client_connect(c, s->name, 5000, PH_CLIENT_LENGTH_FRAMING);
    ck_assert_msg(rc == 0, "connect: %s (Win32 %lu)", ph_err_name(rc), ph_client_syserror(c));
    return c;
}

/* ------------------------------------------------------------------------------------------------------- */

/* Transact round trips in length framing: text, binary with every byte value, and one request over the
 * pipe's buffer; each request went out as one write of header and body together. */
START_TEST(transact_round_trips)
{
    fs s;
    ph_client *c;
    unsigned char bin[256], *big, *m = NULL;
    size_t len = 0, i;

    ct_sys_install();
    fs_start(&s, "len-rt", 1);
    c = length_client(&s);
    ct_expect_str(c, "hello", "hello");
    /* The first request was in the pipe whole when its first byte was: header and body in one write. */
    ck_assert_uint_eq(s.first_avail, 4 + 5);
    ck_assert_int_eq(ct_sys_state.nwrites, 1);
    ck_assert_uint_eq(ct_sys_state.write_len[0], 4 + 5);
    for (i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)i;
    ct_expect(c, bin, sizeof(bin), bin, sizeof(bin));
    ck_assert_int_eq(ct_sys_state.nwrites, 2);
    ck_assert_uint_eq(ct_sys_state.write_len[1], 4 + 256);
    big = malloc(200000);
    ck_assert_ptr_nonnull(big);
    ct_fill(big, 200000, 7);
    ck_assert_int_eq(ph_client_transact(c, big, 200000, &m, &len, 10000, 0), 0);
    ck_assert_uint_eq(len, 200000);
    ck_assert(ct_check(m, len, 7));
    ck_assert_int_eq(m[len], 0);
    ck_assert_int_eq(ct_sys_state.nwrites, 3);
    ck_assert_uint_eq(ct_sys_state.write_len[2], 4 + 200000);
    ph_free(m);
    free(big);
    ph_client_free(c);
    fs_stop(&s);
    ck_assert_int_eq(s.frames, 3);
    ct_sys_restore();
}
END_TEST

/* Pipelining: three requests sent back to back before any response is read. The server reads all three
 * before it answers (so the client did not wait between sends), then answers all three in one write; the
 * client takes them apart in order, never reading into the next frame. */
START_TEST(pipelined_three)
{
    static const char *const req[] = {"one", "two", "three"};
    fs s;
    ph_client *c;
    size_t i;

    fs_start(&s, "len-pipe", 3);
    c = length_client(&s);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(ph_client_send(c, req[i], strlen(req[i]), 5000), 0);
    for (i = 0; i < 3; i++) {
        unsigned char *m = NULL;
        size_t len = 0;
        int rc = ph_client_recv(c, &m, &len, 5000, 0);
        ck_assert_msg(rc == 0, "recv %u: %s (Win32 %lu)", (unsigned)i, ph_err_name(rc), ph_client_syserror(c));
        ck_assert_uint_eq(len, strlen(req[i]));
        ck_assert_mem_eq(m, req[i], len);
        ph_free(m);
    }
    /* And again, with answers of different sizes (one over the pipe's 64 KiB buffer) in one batch. */
    ck_assert_int_eq(ph_client_send(c, "BIG 5", 5, 5000), 0);
    ck_assert_int_eq(ph_client_send(c, "BIG 70000", 9, 5000), 0);
    ck_assert_int_eq(ph_client_send(c, "BIG 0", 5, 5000), 0);
    for (i = 0; i < 3; i++) {
        static const size_t want[] = {5, 70000, 0};
        unsigned char *m = NULL;
        size_t len = 1;
        ck_assert_int_eq(ph_client_recv(c, &m, &len, 5000, 0), 0);
        ck_assert_uint_eq(len, want[i]);
        ck_assert(ct_check(m, len, 0));
        ph_free(m);
    }
    ph_client_free(c);
    fs_stop(&s);
    ck_assert_int_eq(s.frames, 6);
}
END_TEST

/* A response written in pieces (a header in three writes, a body in several) is read whole: the client loops
 * over partial byte-mode reads. */
START_TEST(response_split_across_writes)
{
    static const size_t sizes[] = {0, 1, 11, 12, 5000, 100000};
    fs s;
    ph_client *c;
    size_t i;
    char req[32];

    fs_start(&s, "len-split", 1);
    c = length_client(&s);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *m = NULL;
        size_t len = 1;
        int rc;
        snprintf(req, sizeof(req), "SPLIT %zu", sizes[i]);
        rc = ct_transact(c, req, &m, &len, 10000);
        ck_assert_msg(rc == 0, "%s: %s (Win32 %lu)", req, ph_err_name(rc), ph_client_syserror(c));
        ck_assert_uint_eq(len, sizes[i]);
        ck_assert(ct_check(m, len, 0));
        ck_assert_int_eq(m[len], 0);
        ph_free(m);
    }
    ph_client_free(c);
    fs_stop(&s);
}
END_TEST

/* One deadline for the whole response, not one per read: a response trickling in a byte every 50 ms (1.2 s
 * in all) is PH_ETIMEDOUT at the 400 ms deadline, and the connection is then out of step. */
START_TEST(one_deadline_for_partial_reads)
{
    fs s;
    ph_client *c;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0, took;

    fs_start(&s, "len-drip", 1);
    c = length_client(&s);
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ct_transact(c, "DRIP 20", &m, &len, 400), PH_ETIMEDOUT);
    took = ph_test_now_ms() - t0;
    printf("trickled response timed out after %llu ms (deadline 400)\n", took);
    ck_assert_uint_ge(took, 350);
    ck_assert_uint_lt(took, 1000);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 100, 0), PH_ESTATE);
    ck_assert_int_eq(ph_client_send(c, "x", 1, 100), PH_ESTATE);
    ph_client_free(c);
    fs_stop(&s);
}
END_TEST

/* A response over max_len is PH_ETOOBIG as soon as its header is read (its body is not waited for: a header
 * announcing 4 GiB with nothing after it fails at once), and the connection is then out of step. At exactly
 * max_len it is fine. */
START_TEST(response_over_max_len)
{
    fs s;
    ph_client *c;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0;

    fs_start(&s, "len-toobig", 1);
    c = length_client(&s);
    ck_assert_int_eq(ph_client_transact(c, "BIG 1000", 8, &m, &len, 5000, 1000), 0);
    ck_assert_uint_eq(len, 1000);
    ck_assert(ct_check(m, len, 0));
    ph_free(m);
    m = NULL;
    ck_assert_int_eq(ph_client_transact(c, "BIG 1001", 8, &m, &len, 5000, 1000), PH_ETOOBIG);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(ph_client_transact(c, "x", 1, &m, &len, 5000, 0), PH_ESTATE);
    ph_client_free(c);
    fs_stop(&s);

    fs_start(&s, "len-lie", 1);
    c = length_client(&s);
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ph_client_transact(c, "LIE", 3, &m, &len, 5000, 0), PH_ETOOBIG);
    ck_assert_uint_lt(ph_test_now_ms() - t0, 2000);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 100, 0), PH_ESTATE);
    ph_client_free(c);
    fs_stop(&s);
}
END_TEST

/* The server closes mid-frame, in the body or in the header: PH_EPIPE, then PH_ESTATE. */
START_TEST(server_closes_mid_frame)
{
    static const char *const cmds[] = {"CUTBODY", "CUTHEAD"};
    size_t i;

    for (i = 0; i < 2; i++) {
        fs s;
        ph_client *c;
        unsigned char *m = NULL;
        size_t len = 0;
        int rc;

        fs_start(&s, "len-cut", 1);
        c = length_client(&s);
        rc = ct_transact(c, cmds[i], &m, &len, 5000);
        ck_assert_msg(rc == PH_EPIPE, "%s: %s (Win32 %lu)", cmds[i], ph_err_name(rc), ph_client_syserror(c));
        ck_assert_ptr_null(m);
        ck_assert_int_eq(ct_transact(c, "again", &m, &len, 1000), PH_ESTATE);
        ph_client_free(c);
        fs_stop(&s);
        ck_assert(s.closed);
    }
}
END_TEST

/* Zero-length frames both ways: an empty request is a bare header, its echo an empty response (NUL-terminated,
 * not NULL); pipelined between others they keep their place. */
START_TEST(zero_length_frames)
{
    fs s;
    ph_client *c;
    unsigned char *m = NULL;
    size_t len = 1;

    ct_sys_install();
    fs_start(&s, "len-zero", 2);
    c = length_client(&s);
    ck_assert_int_eq(ph_client_send(c, NULL, 0, 5000), 0);
    ck_assert_int_eq(ph_client_send(c, "a", 1, 5000), 0);
    ck_assert_int_eq(ct_sys_state.nwrites, 2);
    ck_assert_uint_eq(ct_sys_state.write_len[0], 4);
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 5000, 0), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m[0], 0);
    ph_free(m);
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 5000, 0), 0);
    ck_assert_uint_eq(len, 1);
    ck_assert_int_eq(m[0], 'a');
    ph_free(m);
    ck_assert_int_eq(ph_client_send(c, "b", 1, 5000), 0);
    ck_assert_int_eq(ph_client_send(c, "", 0, 5000), 0);
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 5000, 1), 0);
    ck_assert_uint_eq(len, 1);
    ph_free(m);
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 5000, 1), 0);
    ck_assert_uint_eq(len, 0);
    ph_free(m);
    ph_client_free(c);
    fs_stop(&s);
    ck_assert_int_eq(s.frames, 4);
    ck_assert_uint_eq(s.last_len, 0);
    ct_sys_restore();
}
END_TEST

/* No answer within the deadline: PH_ETIMEDOUT in about that time (the read is cancelled), then PH_ESTATE. */
START_TEST(no_answer_times_out)
{
    fs s;
    ph_client *c;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0, took;

    fs_start(&s, "len-silent", 1);
    c = length_client(&s);
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ct_transact(c, "SILENT", &m, &len, 300), PH_ETIMEDOUT);
    took = ph_test_now_ms() - t0;
    ck_assert_uint_ge(took, 250);
    ck_assert_uint_lt(took, 1200);
    ck_assert_int_eq(ct_transact(c, "x", &m, &len, 300), PH_ESTATE);
    ph_client_free(c);
    fs_stop(&s);
}
END_TEST

/* The framing must be the server's: length framing on a message-type pipe, or message framing on a
 * byte-type pipe, is refused at connect with PH_EINVAL before anything is sent. */
START_TEST(framing_mismatch_refused)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *srv;
    fs s;
    ph_client *c = NULL;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "len-mismatch", &ctx, NULL);
    srv = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, PH_CLIENT_LENGTH_FRAMING), PH_EINVAL);
    ck_assert_uint_eq(ph_client_syserror(c), ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ph_client_send(c, "x", 1, 100), PH_ESTATE);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, 0), 0);
    ct_expect_str(c, "message", "message");
    ph_client_free(c); /* before the server, whose stop would wait for it */
    ph_server_free(srv);
    ck_assert_int_eq(ctx.calls, 1);
    ct_ctx_free(&ctx);

    /* The refused client took the raw server's only instance (and left: the thread sees a broken pipe and
     * ends without a request), so the second try gets a fresh server. */
    fs_start(&s, "len-mismatch-raw", 1);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, s.name, 5000, 0), PH_EINVAL);
    ck_assert_uint_eq(ph_client_syserror(c), ERROR_INVALID_PARAMETER);
    fs_stop(&s);
    ck_assert_int_eq(s.frames, 0);
    fs_start(&s, "len-mismatch-raw", 1);
    ck_assert_int_eq(ph_client_connect(c, s.name, 5000, PH_CLIENT_LENGTH_FRAMING), 0);
    ct_expect_str(c, "length", "length");
    ph_client_free(c);
    fs_stop(&s);
    ck_assert_int_eq(s.frames, 1);
}
END_TEST

/* PH_CLIENT_ANY_FRAMING: the pipe's type decides (PH_CLIENT_LENGTH_FRAMING beside it is ignored), and
 * ph_client_framing says which framing the connection speaks. */
START_TEST(any_framing_takes_the_pipes)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *srv;
    fs s;
    ph_client *c = NULL;

    ck_assert_int_eq(ph_client_framing(NULL), PH_FRAMING_MESSAGE);
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "len-any", &ctx, NULL);
    srv = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_framing(c), PH_FRAMING_MESSAGE);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, PH_CLIENT_ANY_FRAMING | PH_CLIENT_LENGTH_FRAMING), 0);
    ck_assert_int_eq(ph_client_framing(c), PH_FRAMING_MESSAGE);
    ct_expect_str(c, "message", "message");
    ph_client_free(c);
    ph_server_free(srv);
    ck_assert_int_eq(ctx.calls, 1);
    ct_ctx_free(&ctx);

    fs_start(&s, "len-any-raw", 1);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, s.name, 5000, PH_CLIENT_ANY_FRAMING), 0);
    ck_assert_int_eq(ph_client_framing(c), PH_FRAMING_LENGTH);
    ct_expect_str(c, "length", "length");
    ph_client_free(c);
    fs_stop(&s);
    ck_assert_int_eq(s.frames, 1);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("client_length");
    TCase *tc;

    tc = tcase_create("transact_round_trips");
    tcase_add_test(tc, transact_round_trips);
    suite_add_tcase(s, tc);
    tc = tcase_create("pipelined_three");
    tcase_add_test(tc, pipelined_three);
    suite_add_tcase(s, tc);
    tc = tcase_create("response_split_across_writes");
    tcase_add_test(tc, response_split_across_writes);
    suite_add_tcase(s, tc);
    tc = tcase_create("one_deadline_for_partial_reads");
    tcase_add_test(tc, one_deadline_for_partial_reads);
    suite_add_tcase(s, tc);
    tc = tcase_create("response_over_max_len");
    tcase_add_test(tc, response_over_max_len);
    suite_add_tcase(s, tc);
    tc = tcase_create("server_closes_mid_frame");
    tcase_add_test(tc, server_closes_mid_frame);
    suite_add_tcase(s, tc);
    tc = tcase_create("zero_length_frames");
    tcase_add_test(tc, zero_length_frames);
    suite_add_tcase(s, tc);
    tc = tcase_create("no_answer_times_out");
    tcase_add_test(tc, no_answer_times_out);
    suite_add_tcase(s, tc);
    tc = tcase_create("framing_mismatch_refused");
    tcase_add_test(tc, framing_mismatch_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("any_framing_takes_the_pipes");
    tcase_add_test(tc, any_framing_takes_the_pipes);
    suite_add_tcase(s, tc);
    return s;
}
