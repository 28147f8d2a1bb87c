/* sddl_text.c — a small SDDL reader for tests and the fuzz target (sddl_text.h says which subset). */
#include "sddl_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct code {
    const char *name;
    unsigned long value;
} code;

typedef struct alias {
    const char *name;
    const char *sid;
} alias;

static const code ace_types[] = {
    {"A", 0x0}, {"D", 0x1}, {"AU", 0x2}, {"AL", 0x3}, {"OA", 0x5}, {"OD", 0x6},
    {"XA", 0x9}, {"XD", 0xA}, {"XU", 0xD}, {"ML", 0x11},
};
static const code ace_flags[] = {
    {"OI", 0x1}, {"CI", 0x2}, {"NP", 0x4}, {"IO", 0x8}, {"ID", 0x10}, {"SA", 0x40}, {"FA", 0x80},
};
static const code rights[] = {
    {"GA", 0x10000000}, {"GR", 0x80000000}, {"GW", 0x40000000}, {"GX", 0x20000000}, {"RC", 0x20000},
    {"SD", 0x10000},    {"WD", 0x40000},    {"WO", 0x80000},    {"FA", 0x1f01ff},   {"FR", 0x120089},
    {"FW", 0x120116},   {"FX", 0x1200a0},   {"NW", 0x1},        {"NR", 0x2},        {"NX", 0x4},
};
static const alias sids[] = {
    {"SY", "S-1-5-18"},  {"BA", "S-1-5-32-544"}, {"BU", "S-1-5-32-545"}, {"BG", "S-1-5-32-546"},
    {"AU", "S-1-5-11"},  {"AN", "S-1-5-7"},      {"WD", "S-1-1-0"},      {"IU", "S-1-5-4"},
    {"NU", "S-1-5-2"},   {"LS", "S-1-5-19"},     {"NS", "S-1-5-20"},     {"OW", "S-1-3-4"},
    {"CO", "S-1-3-0"},   {"CG", "S-1-3-1"},      {"AC", "S-1-15-2-1"},   {"RC", "S-1-5-12"},
    {"WR", "S-1-5-33"},  {"PS", "S-1-5-10"},     {"LW", "S-1-16-4096"},  {"ME", "S-1-16-8192"},
    {"MP", "S-1-16-8448"}, {"HI", "S-1-16-12288"}, {"SI", "S-1-16-16384"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The two-letter (or one-letter) code at *p from table, advancing *p; -1 when none matches. */
static int take_code(const char **p, const code *table, size_t n, unsigned long *value)
{
    size_t i, best = n, best_len = 0;

    for (i = 0; i < n; i++) {
        size_t len = strlen(table[i].name);
        if (len > best_len && strncmp(*p, table[i].name, len) == 0) {
            best = i;
            best_len = len;
        }
    }
    if (best == n)
        return -1;
    *p += best_len;
    *value = table[best].value;
    return 0;
}

/* A SID at *p (an alias or "S-1-…"), written canonically into out; advances *p. */
static int take_sid(const char **p, char *out, size_t size)
{
    const char *s = *p;
    size_t i, n;
    int parts = 0;

    if (s[0] == 'S' && s[1] == '-') {
        n = 0;
        out[0] = '\0';
        s += 2;
        n += (size_t)snprintf(out, size, "S");
        while (*s >= '0' && *s <= '9') {
            char *end = NULL;
            unsigned long v = strtoul(s, &end, 10);
            if (end == s || end - s > 10 || v > 0xffffffffUL || n + 12 >= size)
                return -1;
            n += (size_t)snprintf(out + n, size - n, "-%lu", v);
            parts++;
            s = end;
            if (*s != '-' || s[1] < '0' || s[1] > '9')
                break;
            s++;
        }
        /* S-1-<authority>-<at least one sub-authority>, at most 15 of those. */
        if (parts < 3 || parts > 17 || strncmp(out, "S-1-", 4) != 0)
            return -1;
        *p = s;
        return 0;
    }
    for (i = 0; i < COUNT(sids); i++) {
        if (strncmp(s, sids[i].name, 2) == 0) {
            snprintf(out, size, "%s", sids[i].sid);
            *p = s + 2;
            return 0;
        }
    }
    return -1;
}

/* A rights field: a number, or codes up to ';'. */
static int take_rights(const char **p, uint32_t *mask)
{
    const char *s = *p;
    unsigned long v = 0, one;

    *mask = 0;
    if (*s >= '0' && *s <= '9') {
        char *end = NULL;
        v = strtoul(s, &end, 0);
        if (end == s || v > 0xffffffffUL)
            return -1;
        *mask = (uint32_t)v;
        *p = end;
        return 0;
    }
    while (*s != ';' && *s != '\0') {
        if (take_code(&s, rights, COUNT(rights), &one) != 0)
            return -1;
        v |= one;
    }
    *mask = (uint32_t)v;
    *p = s;
    return 0;
}

/* "(type;flags;rights;;;sid)" at *p into ace, its SID text into sid. */
static int take_ace(const char **p, ph__sd_ace *ace, char *sid)
{
    const char *s = *p;
    unsigned long v = 0, one;

    if (*s++ != '(' || take_code(&s, ace_types, COUNT(ace_types), &v) != 0 || *s++ != ';')
        return -1;
    ace->type = (unsigned)v;
    v = 0;
    while (*s != ';') {
        if (take_code(&s, ace_flags, COUNT(ace_flags), &one) != 0)
            return -1;
        v |= one;
    }
    ace->flags = (unsigned)v;
    s++;
    if (take_rights(&s, &ace->mask) != 0 || strncmp(s, ";;;", 3) != 0)
        return -1;
    s += 3;
    if (take_sid(&s, sid, SDDL_TEXT_SID_MAX) != 0)
        return -1;
    if (*s == ';') { /* a conditional entry's expression, "(…)", read only for its parentheses */
        int depth = 0;
        for (s++; *s != '\0'; s++) {
            depth += *s == '(' ? 1 : *s == ')' ? -1 : 0;
            if (depth == 0)
                break;
        }
        if (*s != ')')
            return -1;
        s++;
    }
    if (*s++ != ')')
        return -1;
    ace->sid = sid;
    *p = s;
    return 0;
}

/* An ACL part after "D:" or "S:": flags, then entries. */
static int take_acl(const char **p, sddl_text *out, ph__sd_ace *aces, size_t *count, int *null_acl)
{
    const char *s = *p;

    for (;;) {
        if (strncmp(s, "NO_ACCESS_CONTROL", 17) == 0) {
            *null_acl = 1;
            s += 17;
        } else if (strncmp(s, "AI", 2) == 0 || strncmp(s, "AR", 2) == 0) {
            s += 2;
        } else if (*s == 'P') {
            s++;
        } else {
            break;
        }
    }
    while (*s == '(') {
        size_t used = (size_t)(out->sd.dacl_count + out->sd.sacl_count);
        if (*count >= SDDL_TEXT_MAX_ACES || used >= COUNT(out->sids))
            return -1;
        if (take_ace(&s, &aces[*count], out->sids[used]) != 0)
            return -1;
        ++*count;
        if (aces == out->dacl)
            out->sd.dacl_count = *count;
        else
            out->sd.sacl_count = *count;
    }
    *p = s;
    return 0;
}

int sddl_text_parse(const char *text, sddl_text *out)
{
    const char *s = text;
    char group[SDDL_TEXT_SID_MAX];
    int seen_o = 0, seen_g = 0, seen_d = 0, seen_s = 0, null_dacl = 0, null_sacl = 0;
    size_t dn = 0, sn = 0;

    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return -1;
    while (*s != '\0') {
        char part = s[0];
        if (s[1] != ':')
            return -1;
        s += 2;
        if (part == 'O' && !seen_o++) {
            if (take_sid(&s, out->owner, sizeof(out->owner)) != 0)
                return -1;
            out->sd.owner = out->owner;
        } else if (part == 'G' && !seen_g++) {
            if (take_sid(&s, group, sizeof(group)) != 0)
                return -1;
        } else if (part == 'D' && !seen_d++) {
            if (take_acl(&s, out, out->dacl, &dn, &null_dacl) != 0)
                return -1;
        } else if (part == 'S' && !seen_s++) {
            if (take_acl(&s, out, out->sacl, &sn, &null_sacl) != 0)
                return -1;
        } else {
            return -1;
        }
    }
    out->sd.dacl_state = !seen_d ? PH__ACL_ABSENT : null_dacl ? PH__ACL_NULL : PH__ACL_PRESENT;
    out->sd.dacl = out->dacl;
    out->sd.sacl = out->sacl;
    return 0;
}
