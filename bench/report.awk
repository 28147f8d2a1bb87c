# report.awk — turns the driver's CELL lines and the TRACE counts of scripts/bench.sh into the markdown table.
#
#   awk -v rounds=3 -v window=1000 -v machine=... -v when=... -v commit=... -v quick=0 -v n1=100 -v n2=1000 \
#       -v plotdata=plot.dat -f bench/report.awk results.raw > latest.md
#
# Every figure is the median over the rounds. A ratio is computed within each round (the servers of one
# round ran minutes apart at most, interleaved) and the median of those per-round ratios is shown.
# Also writes plotdata: clients, then requests/s of raw, single, tpc, pipehost (NaN where a server did not
# hold every client of the cell, or did not run it).

function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }

# Median of the values of key k for server s in cell c over the rounds; "" if none.
function med(s, c, k,    r, n, a, i, j, t) {
    n = 0
    for (r = 1; r <= rounds; r++)
        if ((s, c, r, k) in v) a[++n] = v[s, c, r, k] + 0
    if (n == 0) return ""
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# Median over the rounds of pipehost's k divided by the best (largest, or smallest with lower=1) k of the
# references listed in refs; "" if no round has both.
function ratio(c, k, refs, lower) { return ratio_of("pipehost", c, k, refs, lower) }

# The same for server s.
function ratio_of(s, c, k, refs, lower,    r, n, a, i, j, t, m, best, x, nr, ref) {
    nr = split(refs, ref, " ")
    n = 0
    for (r = 1; r <= rounds; r++) {
        if (!((s, c, r, k) in v)) continue
        best = ""
        for (i = 1; i <= nr; i++) {
            if (!((ref[i], c, r, k) in v)) continue
            x = v[ref[i], c, r, k] + 0
            if (full[ref[i], c, r] && (best == "" || (lower ? x < best : x > best))) best = x
        }
        if (best == "" || best <= 0) continue
        a[++n] = (v[s, c, r, k] + 0) / best
    }
    if (n == 0) return ""
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    return sprintf("%.2f×", m)
}

# Median over the N1/N2 pairs of the trace lines per round trip; "" if no pair has both counts.
function trace_per_rt(s, size,    p, n, a, b, x, i, j, t) {
    n = 0
    for (p = 1; p <= pairs; p++) {
        a = tr[s, size, p, n1]; b = tr[s, size, p, n2]
        if (a == "" || b == "" || a < 0 || b < 0) continue
        x[++n] = (b - a) / (n2 - n1)
    }
    if (n == 0) return ""
    for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
    return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
}

function worst(s, c,    r, w) {
    w = ""
    for (r = 1; r <= rounds; r++) {
        if (!((s, c, r) in st)) continue
        if (st[s, c, r] == "timeout" || st[s, c, r] == "skipped") return st[s, c, r]
        if (st[s, c, r] != "ok") w = st[s, c, r]
    }
    return w
}

# The text of one server's cell.
function show(s, c,    kind, x, w, conn, n, t, u) {
    if (!((s, c) in ran)) return "—"
    w = worst(s, c)
    if (w == "timeout" || w == "skipped") return "**" w "**"
    kind = substr(c, 1, 2)
    n = med(s, c, "clients")
    if (kind == "ka") {
        t = fmt(med(s, c, "rps")) "/s · p50 " fmt(med(s, c, "p50_ms")) " · p99 " fmt(med(s, c, "p99_ms")) " ms"
        conn = med(s, c, "connected")
        if (conn < n) t = t " (" conn " of " n " connected)"
    } else if (kind == "ch") {
        t = fmt(med(s, c, "rps")) "/s · " fmt(med(s, c, "busy")) " busy · p99 " fmt(med(s, c, "p99_ms")) " ms"
    } else if (kind == "bu") {
        t = "max wait " fmt(med(s, c, "wait_max_ms")) " · p99 " fmt(med(s, c, "wait_p99_ms")) " ms · " \
            med(s, c, "fail") " failed · " med(s, c, "busy_clients") " saw busy"
    } else if (kind == "id") {
        t = med(s, c, "connected") " of " n
        x = med(s, c, "ws_kib_per_conn")
        if (x != "") t = t " · " fmt(x) " KiB/conn"
        x = med(s, c, "newcomer_ms")
        t = t " · newcomer " (x < 0 ? "not served in 2 s" : fmt(x) " ms")
    } else if (kind == "sl") {
        t = "p50 " fmt(med(s, c, "p50_ms")) " · p99 " fmt(med(s, c, "p99_ms")) " ms (alone: p99 " \
            fmt(med(s, c, "idle_p99_ms")) " ms) · slow " fmt(med(s, c, "slow_p50_ms")) " ms"
        conn = med(s, c, "connected")
        if (conn < n) t = t " (" conn " of " n " connected)"
    } else if (kind == "st") {
        x = med(s, c, "stop_ms")
        conn = med(s, c, "connected")
        t = (x < 0 ? "still running after 20 s" : fmt(x) " ms") " (" conn " of " n " connected)"
        if (x >= 0) {
            u = med(s, c, "unread"); x = med(s, c, "lost")
            if (x > 0) t = t " · **" x " of " u " unread answers lost**"
            else if (u > 0) t = t " · " med(s, c, "kept") " of " u " unread answers read"
            x = med(s, c, "unclean")
            if (x > 0) t = t " · **" x " of " conn " saw error " med(s, c, "close_error") ", not a close**"
            else t = t " · " med(s, c, "closed") " of " conn " closed"
        }
    }
    x = med(s, c, "fail")
    if (kind != "bu" && x > 0) t = t " · " fmt(x) " failed"
    x = med(s, c, "mismatch")
    if (x > 0) t = t " · **" fmt(x) " wrong answers**"
    return t
}

function row(label, c, best,    s, i, t, r1, r2) {
    t = "| " label
    for (i = 1; i <= 4; i++) t = t " | " show(srv[i], c)
    r1 = ratio(c, "rps", "tpc", 0)
    if (r1 != "" && substr(c, 1, 2) == "ka") {
        r2 = ratio(c, "p99_ms", "tpc", 0)
        if (r2 != "") r1 = r1 " (p99 " r2 ")"
    }
    # Where requests/s is not the point: the burst's longest connect wait, the quick clients' p99.
    if (substr(c, 1, 2) == "bu") { r1 = ratio(c, "wait_max_ms", "tpc", 0); if (r1 != "") r1 = "max wait " r1 }
    if (substr(c, 1, 2) == "sl") { r1 = ratio(c, "p99_ms", "tpc", 0); if (r1 != "") r1 = "p99 " r1 }
    r2 = best ? ratio(c, "rps", best, 0) : ""
    print t " | " (r1 == "" ? "—" : r1) " | " (r2 == "" ? "—" : r2) " |"
}

BEGIN { srv[1] = "raw"; srv[2] = "single"; srv[3] = "tpc"; srv[4] = "pipehost" }

$1 == "CELL" {
    delete f
    for (i = 2; i <= NF; i++) { eq = index($i, "="); f[substr($i, 1, eq - 1)] = substr($i, eq + 1) }
    s = f["server"]; c = f["id"]; r = f["round"]
    ran[s, c] = 1
    if (!(s in known)) { known[s] = 1; if (s != "raw" && s != "single" && s != "tpc" && s != "pipehost") extra[++nextra] = s }
    st[s, c, r] = f["status"]
    for (k in f) if (f[k] ~ /^-?[0-9.]+$/) v[s, c, r, k] = f[k]
    full[s, c, r] = !("connected" in f) || (substr(c, 1, 2) != "ka" && substr(c, 1, 2) != "sl") ||
                    f["connected"] == f["clients"]
    next
}
$1 == "TRACE" {
    delete f
    for (i = 2; i <= NF; i++) { eq = index($i, "="); f[substr($i, 1, eq - 1)] = substr($i, eq + 1) }
    tr[f["server"], f["size"], f["pair"], f["n"]] = f["lines"]
    if (f["pair"] + 0 > pairs) pairs = f["pair"] + 0
    next
}

END {
    print "## Benchmark matrix" (quick ? " (quick smoke run: tiny counts, not figures)" : "")
    print ""
    print "Machine: " machine ". Run: " when ", commit " commit ", " rounds " round(s), each cell's window " window \
          " ms; figures are medians over the rounds, ratios the median of per-round ratios."
    print ""
    print "| cell | raw-pipe floor | single instance | thread per client | pipehost | pipehost ÷ thread per client | pipehost ÷ best reference |"
    print "|---|---|---|---|---|---|---|"
    row("1 client, keep-alive, 64 B", "ka1", "raw single tpc")
    row("1 client, keep-alive, 64 KiB", "ka1big", "raw single tpc")
    row("8 clients, keep-alive, 64 B", "ka8", "")
    row("32 clients, keep-alive, 64 B", "ka32", "")
    row("64 clients, keep-alive, 64 B", "ka64", "")
    row("200 clients, keep-alive, 64 B", "ka200", "")
    row("8 clients, keep-alive, 64 KiB", "ka8big", "")
    row("8 clients, churn (connect, 1 request, leave)", "churn8", "single tpc")
    row("32 clients, churn", "churn32", "single tpc")
    row("256-client simultaneous burst", "burst256", "")
    row("2,000 idle connections (pipehost: unlimited pool, `--max-instances 255`)", "idle2000", "")
    row("slow handlers: 8 quick clients while 4 clients' requests take 1 s each", "slow4", "")
    row("stop with 64 clients connected (32 answers unread)", "stop64", "")
    for (z = 1; z <= 2; z++) {
        size = z == 1 ? 64 : 65536
        t = "| wineserver trace lines per round trip, 1 client, " (z == 1 ? "64 B" : "64 KiB")
        best = ""; ph = ""; tp = ""
        for (i = 1; i <= 4; i++) {
            x = trace_per_rt(srv[i], size)
            if (x == "") { t = t " | —"; continue }
            t = t " | " sprintf("%.1f", x)
            if (srv[i] == "pipehost") ph = x
            else if (best == "" || x < best) best = x
            if (srv[i] == "tpc") tp = x
        }
        print t " | " (ph != "" && tp > 0 ? sprintf("%.2f×", ph / tp) : "—") " | " \
              (ph != "" && best > 0 ? sprintf("%.2f×", ph / best) : "—") " |"
    }
    print ""
    print "pipehost runs in its default configuration, but for the idle cell (its unlimited pool) and the" \
          " slow-handler cell (pipehost-bench-host.exe, pipehost's host with a bench-only SLEEP verb)." \
          " Keep-alive cells: requests/s over the window, round-trip latency p50/p99. Churn: connect, one request," \
          " disconnect, in a loop; \"busy\" counts `ERROR_PIPE_BUSY` answers. Burst: every client connects at once," \
          " sends one request, leaves; the wait is from the start signal to the connected pipe (longest and p99)," \
          " a client fails with no connection within 10 s or a wrong answer. Idle: connections" \
          " opened one by one and held; server working set growth per connection, and one more client's connect" \
          " plus round trip while they are held. Slow handlers: the quick clients' round trips while the slow" \
          " clients' requests sleep in the handler; \"alone\": the same clients just before, with no slow request" \
          " running; \"slow\": a slow request's round trip. Stop: from setting the server's stop event to its process exit; then each client" \
          " reads its unread answer, if it has one, and must find the pipe closed (`ERROR_BROKEN_PIPE`; a" \
          " disconnect, 233, discards unread answers)." \
          " Trace: (lines(" n2 ") − lines(" n1 ")) ÷ " (n2 - n1) " round trips of one client, counting the client's and" \
          " the server's lines of a `wineserver -d1` trace (one per request and one per reply), all pinned to one CPU," \
          " median of " pairs " pair(s). Ratios above 1 mean pipehost is faster" \
          " (or, for p99, connect waits and trace lines, costs more); best reference is the best of the raw floor, single" \
          " instance and thread per client in that cell."
    # Servers beyond the four (PH_BENCH_SERVERS): their keep-alive figures, against thread per client and
    # pipehost, so that a ratio can be told apart from what the platform allows any design.
    for (e = 1; e <= nextra; e++) {
        print ""
        print "Also run: **" extra[e] "**."
        print ""
        print "| cell | " extra[e] " | " extra[e] " ÷ thread per client | pipehost ÷ " extra[e] " |"
        print "|---|---|---|---|"
        split("ka1 ka8 ka32 ka64 ka200 ka8big burst256 slow4 stop64", ec, " ")
        for (j = 1; j <= 9; j++) {
            if (!((extra[e], ec[j]) in ran)) continue
            r1 = r2 = ""
            if (substr(ec[j], 1, 2) == "ka") {
                r1 = ratio_of(extra[e], ec[j], "rps", "tpc", 0)
                r2 = ratio_of("pipehost", ec[j], "rps", extra[e], 0)
            }
            print "| " ec[j] " | " show(extra[e], ec[j]) " | " (r1 == "" ? "—" : r1) " | " (r2 == "" ? "—" : r2) " |"
        }
    }
    split("1 8 32 64 200", nc, " ")
    split("ka1 ka8 ka32 ka64 ka200", cc, " ")
    for (j = 1; j <= 5; j++) {
        t = nc[j]
        for (i = 1; i <= 4; i++) {
            ok = (srv[i], cc[j]) in ran && worst(srv[i], cc[j]) == ""
            x = ok ? med(srv[i], cc[j], "rps") : ""
            t = t " " (x == "" ? "NaN" : x)
        }
        print t > plotdata
    }
    close(plotdata)
}
