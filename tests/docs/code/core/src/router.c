/* router.c — fixture for tests/docs: the protocol's error codes, as ph_response_err answers them. */
static void answer(ph_response *resp, int why)
{
    if (why == 1)
        ph_response_err(resp, "unknown-verb", "'%s' is not a known verb", "x");
    else if (why == 2)
        ph_response_err(resp, "too-large", "too large");
    else
        ph_response_err(resp, "forbidden", "you are not allowed to call %s", "x");
}
