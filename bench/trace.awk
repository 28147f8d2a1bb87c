# trace.awk — wineserver requests of two processes in a slice of a `wineserver -d1` trace.
#
#   tail -c +S trace.log | head -c N | LC_ALL=C awk -v from=A -v pids="0020 0028" -f bench/trace.awk
#
# Reads a piece of the trace that starts before the processes of interest were created, and counts the
# lines (one per request, one per reply) that start at byte A or later of that piece and whose thread
# belongs to one of the given processes (Wine process ids, hex as the trace prints them). Threads are mapped to
# processes from the whole trace read so far: init_first_thread's reply names a process's first thread,
# and a new_thread(process=ffffffff) reply names a thread the requesting thread's process created. Thread
# ids are reused, so the latest mapping wins. Lines of other processes of the prefix (services.exe & co)
# are left out: they are noise, not the cost of the server under test.
BEGIN {
    n = split(pids, p, " ")
    for (i = 1; i <= n; i++) want[p[i]] = 1
    count = 0
    pos = 0
}
{
    start = pos
    pos += length($0) + 1
    colon = index($0, ": ")
    if (colon == 0) next
    t = substr($0, 1, colon - 1)
    rest = substr($0, colon + 2)
    if (index(rest, "init_first_thread() = ") == 1) {
        if (match(rest, /pid=[0-9a-f]+/)) pid = substr(rest, RSTART + 4, RLENGTH - 4)
        if (match(rest, /tid=[0-9a-f]+/)) proc[substr(rest, RSTART + 4, RLENGTH - 4)] = pid
    } else if (index(rest, "new_thread( process=ffffffff,") == 1) {
        creating[t] = 1
    } else if (index(rest, "new_thread() = ") == 1 && creating[t]) {
        creating[t] = 0
        if (match(rest, /tid=[0-9a-f]+/)) proc[substr(rest, RSTART + 4, RLENGTH - 4)] = proc[t]
    }
    if (start >= from && (t in proc) && (proc[t] in want)) count++
}
END { print count }
