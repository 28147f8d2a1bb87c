/* fuzz.h — what every fuzz target shares: the libFuzzer entry point and a check that fails loudly. */
#ifndef PH_FUZZ_H
#define PH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Each target defines this; libFuzzer calls it with mutated inputs, replay.c with the corpus files. It
 * returns 0 (libFuzzer reserves other values). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the code under test promises. A violation aborts, which libFuzzer reports as a crash and
 * saves the input; the replay runner reports it as a failed test. */
#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

#endif /* PH_FUZZ_H */
