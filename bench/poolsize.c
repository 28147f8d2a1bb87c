/* poolsize.c — what a fixed pool of N instances costs: start time, memory, and stop time, for several N.
 *
 * pipehost-poolsize.exe [N…]: for each N (default 16 64 128 254) starts a server with a fixed pool of N
 * instances on a fresh name, and prints the time ph_server_start took, the process's committed memory
 * growth (PagefileUsage: PrivateUsage reads 0 under Wine; most of it is the pool's threads, the same for
 * every N), what each instance beyond the first N measured adds, and the time ph_server_stop took. Each N is
 * measured 5 times; the medians are printed. bench/README.md's choice of the default pool size cites
 * this program's output. */
#include <pipehost/pipehost.h>

#include <windows.h>

#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>

static ph_handler_result echo(void *ctx, const ph_request *req, ph_response *resp)
{
    (void)ctx;
    ph_response_append(resp, req->data, req->len);
    return PH_REPLY;
}

static double now_ms(void)
{
    LARGE_INTEGER f, t;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1000.0 / (double)f.QuadPart;
}

static SIZE_T committed(void)
{
    PROCESS_MEMORY_COUNTERS pmc;
    pmc.cb = sizeof(pmc);
    return GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof(pmc)) ? pmc.PagefileUsage : 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static const unsigned defaults[] = {16, 64, 128, 254};
    unsigned sizes[16], nsizes = 0, i, r;

    for (i = 1; i < (unsigned)argc && nsizes < 16; i++)
        sizes[nsizes++] = (unsigned)strtoul(argv[i], NULL, 10);
    if (nsizes == 0)
        for (i = 0; i < 4; i++)
            sizes[nsizes++] = defaults[i];
    double first_mem = 0;

    printf("%-6s %10s %12s %16s %10s\n", "N", "start_ms", "growth_KiB", "bytes/instance+", "stop_ms");
    for (i = 0; i < nsizes; i++) {
        double start[5], stop[5], mem[5];
        for (r = 0; r < 5; r++) {
            char name[64];
            ph_server_config cfg;
            ph_server *s = NULL;
            SIZE_T before;
            double t0;
            int rc;

            snprintf(name, sizeof(name), "pipehost-poolsize-%lu-%u-%u", (unsigned long)GetCurrentProcessId(), i, r);
            ph_server_config_init(&cfg);
            cfg.pipe_name = name;
            cfg.handler = echo;
            cfg.max_instances = sizes[i];
            before = committed();
            t0 = now_ms();
            if (ph_server_new(&cfg, &s) != 0 || (rc = ph_server_start(s)) != 0) {
                fprintf(stderr, "poolsize: cannot start a pool of %u\n", sizes[i]);
                return 1;
            }
            start[r] = now_ms() - t0;
            mem[r] = (double)committed() - (double)before;
            t0 = now_ms();
            ph_server_stop(s);
            stop[r] = now_ms() - t0;
            ph_server_free(s);
        }
        qsort(start, 5, sizeof(double), cmp);
        qsort(stop, 5, sizeof(double), cmp);
        qsort(mem, 5, sizeof(double), cmp);
        if (i == 0)
            first_mem = mem[2];
        printf("%-6u %10.1f %12.0f %16.0f %10.1f\n", sizes[i], start[2], mem[2] / 1024,
               i == 0 ? 0.0 : (mem[2] - first_mem) / (double)(sizes[i] - sizes[0]), stop[2]);
    }
    return 0;
}
