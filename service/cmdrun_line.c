/* cmdrun_line.c — quoting a command verb's arguments for CommandLineToArgvW, and its environment block. */
#include "cmdrun_line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(char *out, size_t size, size_t *used, char c, size_t *need)
{
    if (out != NULL && *used + 1 < size) {
        out[*used] = c;
        out[*used + 1] = '\0';
    }
    (*used)++;
    (*need)++;
}

/* The rules CommandLineToArgvW (and the C runtime) apply inside quotes: 2n backslashes before a quote are n
 * backslashes and the quote ends the argument's quoted part, 2n+1 are n backslashes and a literal quote;
 * backslashes before anything else are literal. So a quote is written as \", the backslashes before a quote
 * or before the closing quote are doubled, and all others stay as they are. */
size_t ph__svc_cmdline_quote(const char *arg, char *out, size_t size, size_t *used)
{
    size_t need = 0;
    const char *p;

    if (arg[0] != '\0' && strpbrk(arg, " \t\n\v\"") == NULL) {
        for (p = arg; *p; p++)
            put(out, size, used, *p, &need);
        return need;
    }
    put(out, size, used, '"', &need);
    for (p = arg;; p++) {
        size_t slashes = 0, i;
        while (*p == '\\') {
            slashes++;
            p++;
        }
        if (*p == '\0') {
            for (i = 0; i < slashes * 2; i++)
                put(out, size, used, '\\', &need);
            break;
        }
        if (*p == '"') {
            for (i = 0; i < slashes * 2 + 1; i++)
                put(out, size, used, '\\', &need);
        } else {
            for (i = 0; i < slashes; i++)
                put(out, size, used, '\\', &need);
        }
        put(out, size, used, *p, &need);
    }
    put(out, size, used, '"', &need);
    return need;
}

char *ph__svc_cmdline_build(const char *program, const char *const *args, size_t n)
{
    size_t need = strlen(program) + 3, used = 0, i;
    char *line;

    for (i = 0; i < n; i++)
        need += 1 + ph__svc_cmdline_quote(args[i], NULL, 0, &used);
    line = malloc(need + 1);
    if (line == NULL)
        return NULL;
    /* argv[0] is parsed by other rules (quotes only, no backslash escapes): quoting the path whole is right
     * for any path, as it cannot contain a quote. */
    used = (size_t)snprintf(line, need + 1, "\"%s\"", program);
    for (i = 0; i < n; i++) {
        line[used++] = ' ';
        line[used] = '\0';
        ph__svc_cmdline_quote(args[i], line, need + 1, &used);
    }
    return line;
}

static int upper(int c)
{
    return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

/* Compares the names of two "NAME=VALUE" entries (up to '='), case-insensitively. */
static int name_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = *a == '=' ? 0 : upper((unsigned char)*a), cb = *b == '=' ? 0 : upper((unsigned char)*b);
        if (ca != cb || ca == 0)
            return ca - cb;
    }
}

/* SystemRoot, and the whole PIPEHOST_ family (the service's: a later version may add to it), in any case. */
static int reserved_name(const char *entry)
{
    static const char prefix[] = "PIPEHOST_";
    size_t i;

    if (name_cmp(entry, "SystemRoot=") == 0)
        return 1;
    for (i = 0; i < sizeof(prefix) - 1; i++)
        if (upper((unsigned char)entry[i]) != prefix[i])
            return 0;
    return 1;
}

static void say(char *why, size_t size, const char *text)
{
    if (why != NULL && size > 0)
        snprintf(why, size, "%s", text);
}

int ph__svc_cmdenv_check(const char *entry, char *why, size_t why_size)
{
    const char *eq = strchr(entry, '='), *p;

    if (eq == NULL) {
        say(why, why_size, "it is not NAME=VALUE (no '=')");
        return -1;
    }
    if (eq == entry || eq - entry > 255) {
        say(why, why_size, "its name must have 1 to 255 characters");
        return -1;
    }
    for (p = entry; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            say(why, why_size, "it contains a control character");
            return -1;
        }
    if (reserved_name(entry)) {
        say(why, why_size, "SystemRoot and names starting with PIPEHOST_ are set by the service");
        return -1;
    }
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    return name_cmp(*(const char *const *)a, *(const char *const *)b);
}

char *ph__svc_cmdenv_build(const char *const *entries, size_t n, const char *system_root, const svc_cmd_identity *id,
                       size_t *len)
{
    enum { EXTRA = 6 };
    char extra[EXTRA][400];
    const char **all;
    size_t count = 0, total = 1, i, used = 0;
    char *block;

    snprintf(extra[0], sizeof(extra[0]), "PIPEHOST_USER_SID=%.300s", id->user_sid ? id->user_sid : "");
    snprintf(extra[1], sizeof(extra[1]), "PIPEHOST_CLIENT_PID=%lu", id->pid);
    snprintf(extra[2], sizeof(extra[2]), "PIPEHOST_SESSION=%lu", id->session);
    snprintf(extra[3], sizeof(extra[3]), "PIPEHOST_VERB=%.300s", id->verb ? id->verb : "");
    snprintf(extra[4], sizeof(extra[4]), "PIPEHOST_CONN_ID=%llu", (unsigned long long)id->connection_id);
    all = malloc((n + EXTRA) * sizeof(*all));
    if (all == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (strchr(entries[i], '=') == NULL) {
            free(all);
            return NULL;
        }
        all[count++] = entries[i];
    }
    for (i = 0; i < 5; i++)
        all[count++] = extra[i];
    if (system_root != NULL) {
        snprintf(extra[5], sizeof(extra[5]), "SystemRoot=%.380s", system_root);
        all[count++] = extra[5];
    }
    qsort(all, count, sizeof(*all), entry_cmp);
    for (i = 0; i < count; i++)
        total += strlen(all[i]) + 1;
    block = malloc(total);
    if (block != NULL) {
        for (i = 0; i < count; i++) {
            size_t k = strlen(all[i]) + 1;
            memcpy(block + used, all[i], k);
            used += k;
        }
        block[used++] = '\0';
        *len = used;
    }
    free(all);
    return block;
}
