/* verbs.c — fixture for tests/docs: the keys of the built-in verbs' answers. */
static int whoami(ph_response *resp, unsigned long pid, unsigned long session)
{
    return ph_response_appendf(resp, "pid=%lu\nsession=%lu\n", pid, session);
}
static int status(ph_response *resp, unsigned long reloads)
{
    return ph_response_appendf(resp, "reloads=%lu\n", reloads);
}
