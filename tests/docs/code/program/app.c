/* app.c — fixture for tests/docs: the options pipehost.exe accepts (besides the value table's). */
static int parse(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "--service") == 0 || strcmp(arg, "--name") == 0 ||
           strcmp(arg, "--start-now") == 0 || strcmp(arg, "--set") == 0 || strcmp(arg, "--unset") == 0 ||
           strcmp(arg, "--stop-event") == 0 || strcmp(arg, "--quiet") == 0;
}
