/* sddl_text.h — a small SDDL reader for tests and the fuzz target, so the checker's rules run natively. */
#ifndef PH_SDDL_TEXT_H
#define PH_SDDL_TEXT_H

#include "ph_internal.h"

#define SDDL_TEXT_MAX_ACES 64
#define SDDL_TEXT_SID_MAX 192

/* A descriptor read from text, ready for ph__sddl_rules_check (sd points into the arrays). */
typedef struct sddl_text {
    ph__sd sd;
    ph__sd_ace dacl[SDDL_TEXT_MAX_ACES];
    ph__sd_ace sacl[SDDL_TEXT_MAX_ACES];
    char owner[SDDL_TEXT_SID_MAX];
    char sids[2 * SDDL_TEXT_MAX_ACES][SDDL_TEXT_SID_MAX];
} sddl_text;

/* Reads the subset of SDDL that pipehost's tests use: O:, G:, D: and S: parts in any order, each once; DACL flags
 * P, AI, AR and NO_ACCESS_CONTROL; entries "(type;flags;rights;;;sid)" with the two-letter types, flags, rights
 * and SID aliases Windows knows for these (A D AU AL ML OA OD XA XD XU; OI CI NP IO ID SA FA; GA GR GW GX RC SD WD
 * WO FA FR FW FX NW NR NX, hex or decimal numbers; SY BA BU BG AU AN WD IU NU LS NS OW CO CG AC RC WR PS and the
 * integrity levels LW ME MP HI SI) or "S-1-…" SIDs, written back in canonical form. Object entries' GUID fields
 * must be empty; a conditional entry's expression (";(…)" after the SID) is skipped. Returns 0, or -1 for text outside that subset (Windows may still parse it). */
int sddl_text_parse(const char *text, sddl_text *out);

#endif /* PH_SDDL_TEXT_H */
