/* version.c — the version of the library as built, for programs that load pipehost.dll at run time. */
#include "ph_internal.h"

unsigned ph_version(void)
{
    return PH_VERSION_HEX;
}

const char *ph_version_string(void)
{
    return PH_VERSION_STRING;
}
