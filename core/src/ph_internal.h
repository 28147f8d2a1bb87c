/* ph_internal.h — declarations shared by the core's own files (ph__ names); never installed. */
#ifndef PH_INTERNAL_H
#define PH_INTERNAL_H

#include "pipehost/pipehost.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* container_of: from a pointer to an embedded member back to its owner (an OVERLAPPED to its connection). */
#define ph__container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define ph__array_size(a) (sizeof(a) / sizeof((a)[0]))

/* A growable byte buffer. data is always NUL-terminated when non-NULL (the NUL is not counted in len), so a
 * text message can be used as a C string without a copy. */
typedef struct ph_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} ph_buf;

int ph__buf_reserve(ph_buf *b, size_t extra);
int ph__buf_append(ph_buf *b, const void *data, size_t len);
int ph__buf_vappendf(ph_buf *b, const char *fmt, va_list ap) PH_PRINTF(2, 0);
void ph__buf_reset(ph_buf *b);
void ph__buf_free(ph_buf *b);
/* Hands the storage to the caller (who frees it with ph_free) and leaves b empty. */
unsigned char *ph__buf_detach(ph_buf *b, size_t *len);

struct ph_response {
    ph_buf buf;
};

/* ABI checks (config.c): 0 if the struct's size member is one this library knows (set by its _init
 * function), else PH_EINVAL. ph__config_check covers cfg->limits too. Every public function that reads or
 * fills one of these structs calls its check first: ph_server_new (ph__config_check), ph_server_set_limits
 * (through ph_limits_validate), ph_server_get_limits (ph__limits_check on out) and ph_server_counters
 * (ph__counters_check on out). */
int ph__config_check(const ph_server_config *cfg);
int ph__limits_check(const ph_limits *limits);
int ph__counters_check(const ph_counters *counters);

/* Sanitised copy of untrusted bytes for messages: printable ASCII kept, others as '?', cut at max chars. */
void ph__printable(char *out, size_t out_size, const unsigned char *data, size_t len);
/* Formats why (size why_size) when the caller asked for a reason: why may be NULL or why_size 0. */
void ph__say(char *why, size_t why_size, const char *fmt, ...) PH_PRINTF(3, 4);

/* Per-verb authorization (ph_router_restrict): a security descriptor and the check of a request's client
 * against it. Win32 in win/access.c; elsewhere (core/src/access_none.c) creation fails with PH_ENOTSUP. */
typedef struct ph__verb_acl ph__verb_acl;
int ph__verb_acl_new(const char *sddl, ph__verb_acl **out);
void ph__verb_acl_free(ph__verb_acl *acl);
/* True only when the client's token is granted PH_VERB_ACCESS; false when it is denied or cannot be
 * determined (an anonymous client, a failed impersonation). A denial is logged with the client's SID. */
int ph__verb_acl_allows(const ph__verb_acl *acl, const ph_request *req, const char *verb);

/* The rules of ph_sddl_check on a parsed descriptor (sddl_rules.c, platform-neutral): win/security.c parses the
 * SDDL with Win32 and fills a ph__sd; tests and the fuzz target fill one from text of their own. ACE types and
 * flags are Win32's numbers (winnt.h), SIDs the "S-1-…" text ConvertSidToStringSid writes. */
#define PH__ACE_ALLOW 0x0u
#define PH__ACE_DENY 0x1u
#define PH__ACE_AUDIT 0x2u
#define PH__ACE_ALLOW_CALLBACK 0x9u
#define PH__ACE_DENY_CALLBACK 0xAu
#define PH__ACE_AUDIT_CALLBACK 0xDu
#define PH__ACE_LABEL 0x11u       /* SYSTEM_MANDATORY_LABEL_ACE_TYPE; its mask holds the NO_WRITE_UP… policy */
#define PH__ACE_INHERIT_ONLY 0x8u /* INHERIT_ONLY_ACE */
typedef struct ph__sd_ace {
    unsigned type;
    unsigned flags;
    uint32_t mask; /* as written: generic rights are mapped by the rules */
    const char *sid;
} ph__sd_ace;
enum { PH__ACL_ABSENT = 0, PH__ACL_NULL = 1, PH__ACL_PRESENT = 2 };
typedef struct ph__sd {
    const char *owner; /* NULL when the descriptor names none (the creator's account becomes the owner) */
    int dacl_state;    /* PH__ACL_… */
    const ph__sd_ace *dacl;
    size_t dacl_count;
    const ph__sd_ace *sacl; /* NULL and 0 when there is no SACL */
    size_t sacl_count;
} ph__sd;
/* 0, PH_EBADSDDL with why set (512 bytes hold every message), or PH_EINVAL for an unknown use. */
int ph__sddl_rules_check(const ph__sd *sd, unsigned use, char *why, size_t why_size);
/* 1 when use is a PH_SDDL_ use with only known PH_SDDL_ALLOW_ flags. */
int ph__sddl_use_valid(unsigned use);
/* True when the DACL part of SDDL text carries NO_ACCESS_CONTROL (any letter case). Windows makes a NULL DACL of
 * it, Wine 8 an ordinary one, so the text is checked too and the answer is the same everywhere. */
int ph__sddl_text_disables_access_control(const char *sddl);
/* A per-service SID as text, S-1-5-80- and five sub-authorities (not ALL SERVICES, S-1-5-80-0). */
int ph__sid_is_service_sid(const char *sid);

#endif /* PH_INTERNAL_H */
