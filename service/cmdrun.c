/* cmdrun.c — runs command verbs' programs: job object, overlapped pipes on the runner's completion port, timeout, output cap. */
#include "cmdrun.h"

#include "cmdrun_line.h"
#include "cmdrun_prog.h"
#include "filelog.h"
#include "winutil.h"

#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Rules:
 * - A run's state belongs to the runner thread: it starts the program, issues every read and write, and
 *   finishes the run. Other threads only post packets (start, process ended, timeout, cancel, quit) and
 *   touch the run list under r->lock.
 * - A run is finished when its process has ended and every I/O it issued has completed; only then is its
 *   held request completed and its memory freed. A run being finished is first taken off the list, so the
 *   cancel callback (which looks its handle up in the list under the lock) never sees it again.
 * - The job is made with KILL_ON_JOB_CLOSE: closing its handle (ours is the only one) ends every process in
 *   it, also if the service dies. The program is created suspended and resumed only once it is in the job. */

enum { KEY_IO = 1, KEY_START, KEY_EXITED, KEY_TIMEOUT, KEY_CANCEL, KEY_QUIT };
enum { PIPE_IN = 0, PIPE_OUT = 1, PIPE_ERR = 2 };
#define READ_CHUNK 65536u
#define STDERR_KEEP 512u

enum run_end { END_NONE = 0, END_TIMEOUT, END_TOO_LARGE, END_CANCELED, END_STOPPING };

typedef struct cmd_verb {
    const svc_command *cmd;
    struct svc_cmdrun *runner;
    HANDLE program;         /* held open (ph__svc_cmdprog_open) */
    wchar_t *program_path;
    wchar_t *cmdline;       /* built once: nothing of a request ever goes into it */
    wchar_t *workdir;
    volatile LONG running;
    volatile LONG unsafe;   /* 1: its program failed the check at the last PARAMCHANGE: refused until one passes */
} cmd_verb;

struct run;
typedef struct run_op {
    OVERLAPPED ov;
    struct run *run;
    int which;
    int pending;
} run_op;

typedef struct run {
    struct run *prev, *next;
    cmd_verb *verb;
    ph_deferred *held;
    HANDLE token;                /* RunAsClient: the client's primary token; NULL otherwise */
    HANDLE pipe[3];              /* our ends; NULL once closed */
    run_op op[3];
    OVERLAPPED start_ov, exit_ov, timer_ov, cancel_ov;
    HANDLE process, job, wait, timer;
    unsigned char *input;
    size_t input_len;
    unsigned char *out;
    size_t out_len, out_cap;
    unsigned char err[STDERR_KEEP];
    size_t err_len, err_total;
    unsigned char scratch[2][4096]; /* what is read past the limit, and stderr beyond its first bytes */
    svc_cmd_identity id;
    char sid[200], verb_name[40];
    int exited;
    DWORD exit_code;
    enum run_end end;
    int cancel_seen;
    int failed_start;            /* the response already holds "ERR cannot-start …" */
    int dead;                    /* answered and off the list; freed once no posted packet is left */
    volatile LONG posted;        /* packets posted for it by other threads and not yet taken */
} run;

struct svc_cmdrun {
    svc_log *log;
    HANDLE iocp, thread;
    SRWLOCK lock;                /* guards the list, quitting and the counters */
    run *runs;
    int quitting;
    uint64_t running, started;
    cmd_verb *verbs;
    unsigned verb_count;
    char self_sid[200];
    wchar_t system_root[MAX_PATH];
    volatile LONG pipe_counter;
};

#define RUN_OF(ovp, member) ((run *)(void *)((char *)(ovp) - offsetof(run, member)))

static void post(svc_cmdrun *r, ULONG_PTR key, OVERLAPPED *ov)
{
    /* Fails only when the port is closed or memory is gone; the thread would then never learn, so say so. */
    if (!PostQueuedCompletionStatus(r->iocp, 0, key, ov))
        ph__svc_log_win32(r->log, PH_LOG_ERROR, GetLastError(), "PostQueuedCompletionStatus", "command runner");
}

static VOID CALLBACK on_exited(PVOID ctx, BOOLEAN timed_out)
{
    run *x = ctx;
    (void)timed_out;
    InterlockedIncrement(&x->posted);
    post(x->verb->runner, KEY_EXITED, &x->exit_ov);
}

static VOID CALLBACK on_timeout(PVOID ctx, BOOLEAN fired)
{
    run *x = ctx;
    (void)fired;
    InterlockedIncrement(&x->posted);
    post(x->verb->runner, KEY_TIMEOUT, &x->timer_ov);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Starting a program. */

/* One pipe between us and the program: our end overlapped on the port, its end inheritable and synchronous.
 * The name is unique and the pipe has one instance, which we connect to at once, so nobody else can. */
static DWORD make_pipe(svc_cmdrun *r, run *x, int which, HANDLE *child)
{
    wchar_t name[128], sddl[260];
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE}, inherit = {sizeof(inherit), NULL, TRUE};
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD err = 0, ours = which == PIPE_IN ? PIPE_ACCESS_OUTBOUND : PIPE_ACCESS_INBOUND;

    swprintf(name, 128, L"\\\\.\\pipe\\pipehost-cmd-%lu-%ld-%d", (unsigned long)GetCurrentProcessId(),
             (long)InterlockedIncrement(&r->pipe_counter), which);
    /* Only this service's account may open it (Wine does not enforce it; Windows does). */
    swprintf(sddl, 260, L"D:P(A;;GA;;;%hs)(A;;GA;;;SY)", r->self_sid);
    if (ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL))
        sa.lpSecurityDescriptor = sd;
    else
        return GetLastError();
    /* A byte pipe (PIPE_TYPE_BYTE | PIPE_READMODE_BYTE are 0), as a child's standard handles expect. */
    x->pipe[which] = CreateNamedPipeW(name, ours | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                      PIPE_REJECT_REMOTE_CLIENTS, 1, READ_CHUNK, READ_CHUNK, 0, &sa);
    LocalFree(sd);
    if (x->pipe[which] == INVALID_HANDLE_VALUE) {
        x->pipe[which] = NULL;
        return GetLastError();
    }
    *child = CreateFileW(name, which == PIPE_IN ? GENERIC_READ : GENERIC_WRITE, 0, &inherit, OPEN_EXISTING, 0, NULL);
    if (*child == INVALID_HANDLE_VALUE) {
        *child = NULL;
        return GetLastError();
    }
    if (CreateIoCompletionPort(x->pipe[which], r->iocp, KEY_IO, 0) == NULL)
        err = GetLastError();
    return err;
}

static DWORD make_job(run *x)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;

    x->job = CreateJobObjectW(NULL, NULL);
    if (x->job == NULL)
        return GetLastError();
    memset(&lim, 0, sizeof(lim));
    /* Kill on close: the job ends with our handle, also when the service process dies. No breakaway. */
    lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
    if (!SetInformationJobObject(x->job, JobObjectExtendedLimitInformation, &lim, sizeof(lim)))
        return GetLastError();
    return 0;
}

static wchar_t *env_block(svc_cmdrun *r, run *x)
{
    const svc_command *c = x->verb->cmd;
    char *root = ph__svc_to_utf8(r->system_root, NULL), *block;
    size_t len = 0;
    wchar_t *w = NULL;
    int n;

    block = ph__svc_cmdenv_build((const char *const *)c->env, c->env_count, root && root[0] ? root : NULL, &x->id, &len);
    free(root);
    if (block == NULL)
        return NULL;
    n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, block, (int)len, NULL, 0);
    if (n > 0 && (w = malloc((size_t)n * sizeof(wchar_t))) != NULL &&
        MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, block, (int)len, w, n) != n) {
        free(w);
        w = NULL;
    }
    free(block);
    return w;
}

/* Starts the program of run x; returns 0 or the Win32 error (with call naming what failed). */
static DWORD start_program(svc_cmdrun *r, run *x, const char **call)
{
    HANDLE child[3] = {NULL, NULL, NULL};
    STARTUPINFOEXW si;
    PROCESS_INFORMATION pi;
    SIZE_T attr_size = 0;
    wchar_t *env = NULL, *line = NULL;
    DWORD err = 0, flags;
    int i, attr_ready = 0;
    BOOL ok;

    memset(&si, 0, sizeof(si));
    memset(&pi, 0, sizeof(pi));
    for (i = 0; i < 3 && err == 0; i++) {
        err = make_pipe(r, x, i, &child[i]);
        *call = "CreateNamedPipeW";
    }
    if (err == 0) {
        *call = "CreateJobObjectW";
        err = make_job(x);
    }
    if (err == 0) {
        *call = "environment";
        env = env_block(r, x);
        line = _wcsdup(x->verb->cmdline); /* CreateProcessW may write to the line */
        if (env == NULL || line == NULL)
            err = ERROR_NOT_ENOUGH_MEMORY;
    }
    if (err == 0) {
        /* Only the three pipe ends are inherited, whatever else of the service is inheritable. */
        *call = "InitializeProcThreadAttributeList";
        InitializeProcThreadAttributeList(NULL, 1, 0, &attr_size);
        si.lpAttributeList = malloc(attr_size);
        if (si.lpAttributeList == NULL)
            err = ERROR_NOT_ENOUGH_MEMORY;
        else if (!InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &attr_size))
            err = GetLastError();
        else {
            attr_ready = 1;
            if (!UpdateProcThreadAttribute(si.lpAttributeList, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, child,
                                           sizeof(child), NULL, NULL)) {
                err = GetLastError();
                *call = "UpdateProcThreadAttribute";
            }
        }
    }
    if (err == 0) {
        si.StartupInfo.cb = sizeof(si);
        si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
        si.StartupInfo.hStdInput = child[PIPE_IN];
        si.StartupInfo.hStdOutput = child[PIPE_OUT];
        si.StartupInfo.hStdError = child[PIPE_ERR];
        flags = CREATE_SUSPENDED | CREATE_NO_WINDOW | EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT;
        if (x->token != NULL) {
            *call = "CreateProcessAsUserW";
            ok = CreateProcessAsUserW(x->token, x->verb->program_path, line, NULL, NULL, TRUE, flags, env,
                                      x->verb->workdir, &si.StartupInfo, &pi);
        } else {
            *call = "CreateProcessW";
            ok = CreateProcessW(x->verb->program_path, line, NULL, NULL, TRUE, flags, env, x->verb->workdir,
                                &si.StartupInfo, &pi);
        }
        if (!ok)
            err = GetLastError();
    }
    if (err == 0) {
        x->process = pi.hProcess;
        *call = "AssignProcessToJobObject";
        if (!AssignProcessToJobObject(x->job, pi.hProcess)) {
            err = GetLastError();
            TerminateProcess(pi.hProcess, 1);
        } else if (ResumeThread(pi.hThread) == (DWORD)-1) {
            *call = "ResumeThread";
            err = GetLastError();
            TerminateJobObject(x->job, 1);
        }
        CloseHandle(pi.hThread);
    }
    if (attr_ready)
        DeleteProcThreadAttributeList(si.lpAttributeList);
    free(si.lpAttributeList);
    free(env);
    free(line);
    /* Our copies of the child's ends go now: the child's end-of-file comes when it (and its children) close. */
    for (i = 0; i < 3; i++)
        if (child[i] != NULL)
            CloseHandle(child[i]);
    return err;
}

/* ------------------------------------------------------------------------------------------------------ */
/* I/O. */

static void close_pipe(run *x, int which)
{
    if (x->pipe[which] != NULL) {
        CloseHandle(x->pipe[which]);
        x->pipe[which] = NULL;
    }
}

static void end_job(run *x, enum run_end why)
{
    if (x->end == END_NONE)
        x->end = why;
    if (x->job != NULL)
        TerminateJobObject(x->job, 1);
}

static void issue_read(run *x, int which)
{
    run_op *op = &x->op[which];
    unsigned char *dst;
    DWORD want;

    if (x->pipe[which] == NULL)
        return;
    if (which == PIPE_OUT && x->out_len < x->verb->cmd->max_output + (size_t)1) {
        /* Room for one byte past the limit, so that going over it is seen. */
        size_t limit = (size_t)x->verb->cmd->max_output + 1, cap = x->out_cap;
        if (cap - x->out_len < 1 || cap == 0) {
            size_t grown = cap ? cap * 2 : 4096;
            unsigned char *p;
            if (grown > limit)
                grown = limit;
            p = realloc(x->out, grown);
            if (p == NULL) {
                end_job(x, END_TOO_LARGE);
                close_pipe(x, which);
                return;
            }
            x->out = p;
            x->out_cap = grown;
        }
        dst = x->out + x->out_len;
        want = (DWORD)((x->out_cap - x->out_len) > READ_CHUNK ? READ_CHUNK : (x->out_cap - x->out_len));
    } else {
        dst = x->scratch[which == PIPE_OUT ? 0 : 1];
        want = sizeof(x->scratch[0]);
    }
    memset(&op->ov, 0, sizeof(op->ov));
    if (ReadFile(x->pipe[which], dst, want, NULL, &op->ov) || GetLastError() == ERROR_IO_PENDING)
        op->pending = 1; /* a completion packet comes either way */
    else
        close_pipe(x, which); /* broken pipe: the program closed it */
}

static void on_read(run *x, int which, DWORD got, DWORD err)
{
    x->op[which].pending = 0;
    if (err != 0 || x->pipe[which] == NULL) {
        close_pipe(x, which); /* end of file (the program and its children closed it), or cancelled */
        return;
    }
    if (which == PIPE_OUT) {
        if (x->out_len <= x->verb->cmd->max_output && x->out != NULL)
            x->out_len += got;
        if (x->out_len > x->verb->cmd->max_output)
            end_job(x, END_TOO_LARGE);
    } else {
        size_t keep = STDERR_KEEP - x->err_len;
        if (keep > got)
            keep = got;
        memcpy(x->err + x->err_len, x->scratch[1], keep);
        x->err_len += keep;
        x->err_total += got;
    }
    issue_read(x, which);
}

static void start_write(run *x)
{
    run_op *op = &x->op[PIPE_IN];

    if (x->input_len == 0 || x->input_len > 0xFFFFFFFFu) {
        close_pipe(x, PIPE_IN); /* nothing to send: end-of-file at once */
        return;
    }
    memset(&op->ov, 0, sizeof(op->ov));
    if (WriteFile(x->pipe[PIPE_IN], x->input, (DWORD)x->input_len, NULL, &op->ov) || GetLastError() == ERROR_IO_PENDING)
        op->pending = 1;
    else
        close_pipe(x, PIPE_IN);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Finishing. */

static void printable(const unsigned char *in, size_t n, char *out, size_t size)
{
    size_t i;
    for (i = 0; i < n && i + 1 < size; i++) {
        char c = '.';
        if (in[i] >= 0x20 && in[i] < 0x7f)
            c = (char)in[i];
        out[i] = c;
    }
    out[i < size ? i : size - 1] = '\0';
}

static int finished(const run *x)
{
    return x->exited && !x->op[0].pending && !x->op[1].pending && !x->op[2].pending && x->pipe[PIPE_OUT] == NULL &&
           x->pipe[PIPE_ERR] == NULL;
}

/* No callback posts for x once this returns: both calls wait for a callback already running. */
static void stop_callbacks(run *x)
{
    if (x->wait != NULL)
        UnregisterWaitEx(x->wait, INVALID_HANDLE_VALUE);
    if (x->timer != NULL)
        DeleteTimerQueueTimer(NULL, x->timer, INVALID_HANDLE_VALUE);
    x->wait = x->timer = NULL;
}

static void free_run(run *x)
{
    int i;

    stop_callbacks(x);
    for (i = 0; i < 3; i++)
        close_pipe(x, i);
    if (x->process != NULL)
        CloseHandle(x->process);
    if (x->job != NULL)
        CloseHandle(x->job); /* kill on close: nothing of the run survives it */
    if (x->token != NULL)
        CloseHandle(x->token);
    free(x->input);
    free(x->out);
    free(x);
}

/* Takes x off the list (the cancel callback no longer finds it), answers its request and frees it. */
static void finish(svc_cmdrun *r, run *x)
{
    const svc_command *c = x->verb->cmd;
    ph_response *resp = ph_deferred_response(x->held);
    char err_text[STDERR_KEEP + 1];

    AcquireSRWLockExclusive(&r->lock);
    if (x->prev)
        x->prev->next = x->next;
    else
        r->runs = x->next;
    if (x->next)
        x->next->prev = x->prev;
    r->running--;
    ReleaseSRWLockExclusive(&r->lock);
    InterlockedDecrement(&x->verb->running);

    printable(x->err, x->err_len, err_text, sizeof(err_text));
    switch (x->failed_start ? END_CANCELED : x->end) {
    case END_TIMEOUT:
        ph_response_err(resp, "timeout", "%s ran longer than %lu ms and was ended", c->verb,
                        (unsigned long)c->timeout_ms);
        break;
    case END_TOO_LARGE:
        ph_response_err(resp, "output-too-large", "%s wrote more than %lu bytes and was ended", c->verb,
                        (unsigned long)c->max_output);
        break;
    case END_STOPPING:
        ph_response_err(resp, "stopping", "the service is stopping; %s was ended", c->verb);
        break;
    case END_CANCELED:
    case END_NONE:
    default:
        if (x->exit_code != 0 && !x->failed_start)
            ph_response_err(resp, "exit", "%lu", (unsigned long)x->exit_code);
        break;
    }
    if (x->failed_start)
        ; /* logged where it failed */
    else if (x->end != END_NONE || x->exit_code != 0)
        ph__svc_log_msg(r->log, x->end == END_CANCELED ? PH_LOG_INFO : PH_LOG_WARN,
                    "command %s (connection %llu, client pid %lu): %s %lu; stderr (%zu bytes): %s", c->verb,
                    (unsigned long long)x->id.connection_id, x->id.pid,
                    x->end == END_TIMEOUT      ? "timed out, ended; exit code"
                    : x->end == END_TOO_LARGE  ? "output over MaxOutputBytes, ended; exit code"
                    : x->end == END_STOPPING   ? "ended by the service's stop; exit code"
                    : x->end == END_CANCELED   ? "ended because its client left; exit code"
                                               : "exit code",
                    (unsigned long)x->exit_code, x->err_total, err_text);
    else
        ph__svc_log_msg(r->log, PH_LOG_DEBUG, "command %s (connection %llu): exit code 0, %zu bytes of output", c->verb,
                    (unsigned long long)x->id.connection_id, x->out_len);
    if (!x->failed_start && x->end == END_NONE && x->exit_code == 0 && ph_response_ok(resp, x->out, x->out_len) != 0)
        ph_response_err(resp, "internal", "out of memory for %s's output", c->verb);
    /* A held request whose client left is released all the same (PH_ECANCELED: nothing is written). */
    ph_deferred_complete(x->held, PH_REPLY, NULL, 0);
    x->held = NULL;
    stop_callbacks(x);
    x->dead = 1;
    if (InterlockedCompareExchange(&x->posted, 0, 0) == 0)
        free_run(x);
}

/* ------------------------------------------------------------------------------------------------------ */
/* The runner thread. */

static void on_start(svc_cmdrun *r, run *x)
{
    const char *call = "?";
    DWORD err;
    char text[256];

    if (x->end == END_STOPPING || (x->cancel_seen && x->verb->cmd->kill_on_client_exit)) {
        if (x->end == END_NONE)
            x->end = END_CANCELED;
        x->exited = 1; /* never started */
        finish(r, x);
        return;
    }
    err = start_program(r, x, &call);
    if (err == 0 && !RegisterWaitForSingleObject(&x->wait, x->process, on_exited, x, INFINITE, WT_EXECUTEONLYONCE)) {
        err = GetLastError();
        call = "RegisterWaitForSingleObject";
        x->wait = NULL;
    }
    if (err == 0 &&
        !CreateTimerQueueTimer(&x->timer, NULL, on_timeout, x, x->verb->cmd->timeout_ms, 0, WT_EXECUTEONLYONCE)) {
        err = GetLastError();
        call = "CreateTimerQueueTimer";
        x->timer = NULL;
    }
    if (err != 0) {
        ph_syserror_text(err, text, sizeof(text));
        ph__svc_log_msg(r->log, PH_LOG_ERROR, "command %s (connection %llu): cannot start %ls: %s failed: error %lu (%s)",
                    x->verb->cmd->verb, (unsigned long long)x->id.connection_id, x->verb->program_path, call,
                    (unsigned long)err, text);
        if (x->job != NULL)
            TerminateJobObject(x->job, 1);
        /* Nothing was issued yet: the run ends here. */
        x->exited = 1;
        close_pipe(x, PIPE_OUT);
        close_pipe(x, PIPE_ERR);
        x->failed_start = 1;
        ph_response_err(ph_deferred_response(x->held), "cannot-start", "%s could not be started (%s failed: error %lu)",
                        x->verb->cmd->verb, call, (unsigned long)err);
        finish(r, x);
        return;
    }
    start_write(x);
    issue_read(x, PIPE_OUT);
    issue_read(x, PIPE_ERR);
}

static void on_exited_packet(svc_cmdrun *r, run *x)
{
    DWORD code = 1;

    (void)r;
    if (!GetExitCodeProcess(x->process, &code))
        code = 1;
    x->exit_code = code;
    x->exited = 1;
    /* Whatever it left running (a grandchild holding the pipes open) ends with it. */
    if (x->job != NULL)
        TerminateJobObject(x->job, code ? code : 1);
    /* The input it never read is of no use any more. */
    if (x->op[PIPE_IN].pending)
        CancelIoEx(x->pipe[PIPE_IN], &x->op[PIPE_IN].ov);
}

static void quit_all(svc_cmdrun *r)
{
    run *x;

    AcquireSRWLockExclusive(&r->lock);
    r->quitting = 1;
    for (x = r->runs; x != NULL; x = x->next)
        end_job(x, END_STOPPING);
    ReleaseSRWLockExclusive(&r->lock);
}

static DWORD WINAPI runner_main(LPVOID arg)
{
    svc_cmdrun *r = arg;

    for (;;) {
        DWORD got = 0, err = 0;
        ULONG_PTR key = 0;
        OVERLAPPED *ov = NULL;
        run *x = NULL;
        int which = -1, more;

        if (!GetQueuedCompletionStatus(r->iocp, &got, &key, &ov, INFINITE)) {
            err = GetLastError();
            if (ov == NULL) {
                ph__svc_log_win32(r->log, PH_LOG_ERROR, err, "GetQueuedCompletionStatus", "command runner");
                break;
            }
        }
        switch (key) {
        case KEY_IO: {
            run_op *op = (run_op *)(void *)ov;
            x = op->run;
            which = op->which;
            if (which == PIPE_IN) {
                op->pending = 0;
                close_pipe(x, PIPE_IN); /* all written, or failed: either way its end-of-file */
            } else {
                on_read(x, which, got, err);
            }
            break;
        }
        case KEY_START:
            x = RUN_OF(ov, start_ov);
            on_start(r, x);
            x = NULL; /* on_start finishes a run that could not start */
            break;
        case KEY_EXITED:
        case KEY_TIMEOUT:
        case KEY_CANCEL:
            x = key == KEY_EXITED ? RUN_OF(ov, exit_ov) : key == KEY_TIMEOUT ? RUN_OF(ov, timer_ov) : RUN_OF(ov, cancel_ov);
            if (InterlockedDecrement(&x->posted) == 0 && x->dead) {
                free_run(x);
                x = NULL;
                break;
            }
            if (x->dead) {
                x = NULL;
                break;
            }
            if (key == KEY_EXITED)
                on_exited_packet(r, x);
            else if (key == KEY_TIMEOUT && !x->exited)
                end_job(x, END_TIMEOUT);
            else if (key == KEY_CANCEL && x->verb->cmd->kill_on_client_exit && !x->exited)
                end_job(x, END_CANCELED);
            break;
        case KEY_QUIT:
            quit_all(r);
            break;
        default:
            break;
        }
        if (x != NULL && x->process != NULL && finished(x))
            finish(r, x);
        AcquireSRWLockShared(&r->lock);
        more = !r->quitting || r->runs != NULL;
        ReleaseSRWLockShared(&r->lock);
        if (!more)
            break;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------------ */
/* The verb handler (pool threads) and the cancel callback. */

/* d is only compared, but the callback's type (ph_deferred_cancel_fn) is the core's. */
/* cppcheck-suppress constParameter */
static void on_cancel(void *ctx, ph_deferred *d)
{
    svc_cmdrun *r = ctx;
    run *x;

    /* Only a run still on the list is live: one being finished is off it before its handle is completed. */
    AcquireSRWLockExclusive(&r->lock);
    for (x = r->runs; x != NULL; x = x->next)
        if (x->held == d) {
            x->cancel_seen = 1;
            InterlockedIncrement(&x->posted);
            post(r, KEY_CANCEL, &x->cancel_ov);
            break;
        }
    ReleaseSRWLockExclusive(&r->lock);
}

/* The client's token as a primary token for CreateProcessAsUserW, only if it allowed impersonation. */
static int client_primary_token(const ph_request *req, HANDLE *out)
{
    void *imp = NULL;
    int rc = ph_request_client_token(req, &imp);

    *out = NULL;
    if (rc != 0)
        return rc;
    if (!DuplicateTokenEx((HANDLE)imp, TOKEN_ALL_ACCESS, NULL, SecurityImpersonation, TokenPrimary, out)) {
        *out = NULL;
        rc = PH_ESYS;
    }
    CloseHandle((HANDLE)imp);
    return rc;
}

static ph_handler_result verb_command(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                      ph_response *resp)
{
    cmd_verb *v = ctx;
    svc_cmdrun *r = v->runner;
    const ph_client_info *ci = ph_request_client(req);
    run *x;
    int quitting, rc;

    if (InterlockedCompareExchange(&v->unsafe, 0, 0)) {
        ph_response_err(resp, "unsafe-program", "%s is disabled: its program or a folder above it became writable by "
                        "others (see the service log)", v->cmd->verb);
        return PH_REPLY;
    }
    if (InterlockedIncrement(&v->running) > (LONG)v->cmd->max_concurrent) {
        InterlockedDecrement(&v->running);
        ph_response_err(resp, "busy", "%s already runs %lu time(s), its MaxConcurrent; try again later", v->cmd->verb,
                        (unsigned long)v->cmd->max_concurrent);
        return PH_REPLY;
    }
    x = calloc(1, sizeof(*x));
    if (x != NULL && len > 0 && (x->input = malloc(len)) == NULL) {
        free(x);
        x = NULL;
    }
    if (x == NULL) {
        InterlockedDecrement(&v->running);
        ph_response_err(resp, "internal", "out of memory");
        return PH_REPLY;
    }
    x->verb = v;
    if (len > 0)
        memcpy(x->input, payload, len);
    x->input_len = len;
    for (rc = 0; rc < 3; rc++) {
        x->op[rc].run = x;
        x->op[rc].which = rc;
    }
    snprintf(x->sid, sizeof(x->sid), "%s", ci->user_sid ? ci->user_sid : "");
    snprintf(x->verb_name, sizeof(x->verb_name), "%s", v->cmd->verb);
    x->id.user_sid = x->sid;
    x->id.pid = ci->pid;
    x->id.session = ci->session_id;
    x->id.verb = x->verb_name;
    x->id.connection_id = req->connection_id;
    if (v->cmd->run_as_client) {
        rc = client_primary_token(req, &x->token);
        if (rc != 0) {
            InterlockedDecrement(&v->running);
            free_run(x);
            if (rc == PH_EACCESS)
                ph_response_err(resp, "impersonation-required",
                                "%s runs as its caller: connect allowing impersonation (pipehost client: "
                                "--impersonation; the API: PH_CLIENT_IMPERSONATION)", v->cmd->verb);
            else
                ph_response_err(resp, "cannot-start", "%s: the caller's token could not be taken (%s)", v->cmd->verb,
                                ph_strerror(rc));
            return PH_REPLY;
        }
    }
    rc = ph_request_defer(req, &x->held);
    if (rc != 0) {
        InterlockedDecrement(&v->running);
        free_run(x);
        ph_response_err(resp, "internal", "%s cannot be held: %s", v->cmd->verb, ph_strerror(rc));
        return PH_REPLY;
    }
    AcquireSRWLockExclusive(&r->lock);
    quitting = r->quitting;
    if (!quitting) {
        x->next = r->runs;
        if (r->runs)
            r->runs->prev = x;
        r->runs = x;
        r->running++;
        r->started++;
    }
    ReleaseSRWLockExclusive(&r->lock);
    if (quitting) {
        InterlockedDecrement(&v->running);
        ph_response_err(ph_deferred_response(x->held), "stopping", "the service is stopping");
        ph_deferred_complete(x->held, PH_REPLY, NULL, 0);
        free_run(x);
        return PH_DEFER;
    }
    ph_deferred_on_cancel(x->held, on_cancel, r);
    post(r, KEY_START, &x->start_ov);
    return PH_DEFER;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Life cycle. */

static int prepare_verb(cmd_verb *v, char *why, size_t why_size)
{
    const svc_command *c = v->cmd;
    char inner[600], *line;
    DWORD err;
    wchar_t *slash;

    v->program = INVALID_HANDLE_VALUE;
    v->program_path = ph__svc_to_wide(c->program, NULL);
    if (v->program_path == NULL)
        return PH_ENOMEM;
    err = ph__svc_cmdprog_open(v->program_path, &v->program, inner, sizeof(inner));
    if (err != 0) {
        snprintf(why, why_size, "invalid command verb Commands\\%s: Program \"%.200s\" is refused: %s", c->verb,
                 c->program, inner);
        return PH_EINVAL;
    }
    if (c->workdir != NULL) {
        DWORD attrs;
        v->workdir = ph__svc_to_wide(c->workdir, NULL);
        if (v->workdir == NULL)
            return PH_ENOMEM;
        attrs = GetFileAttributesW(v->workdir);
        if (ph__svc_cmdprog_path_ok(v->workdir, inner, sizeof(inner)) != 0 || attrs == INVALID_FILE_ATTRIBUTES ||
            !(attrs & FILE_ATTRIBUTE_DIRECTORY)) {
            snprintf(why, why_size, "invalid command verb Commands\\%s: WorkingDirectory \"%.200s\" is refused: %s",
                     c->verb, c->workdir, attrs == INVALID_FILE_ATTRIBUTES ? "it does not exist" : inner);
            return PH_EINVAL;
        }
    } else {
        /* The program's own folder, which has passed the same check as the program. */
        v->workdir = _wcsdup(v->program_path);
        if (v->workdir == NULL)
            return PH_ENOMEM;
        slash = wcsrchr(v->workdir, L'\\');
        slash[slash - v->workdir == 2 ? 1 : 0] = L'\0';
    }
    line = ph__svc_cmdline_build(c->program, (const char *const *)c->args, c->arg_count);
    v->cmdline = line ? ph__svc_to_wide(line, NULL) : NULL;
    free(line);
    if (v->cmdline == NULL)
        return PH_ENOMEM;
    if (wcslen(v->cmdline) >= 32767) {
        snprintf(why, why_size, "invalid command verb Commands\\%s: its command line is longer than 32767 characters",
                 c->verb);
        return PH_EINVAL;
    }
    return 0;
}

int ph__svc_cmdrun_new(const svc_commands *cmds, svc_log *log, svc_cmdrun **out, char *why, size_t why_size)
{
    svc_cmdrun *r;
    unsigned i;
    int rc = 0;
    UINT n;

    *out = NULL;
    if (why_size > 0)
        why[0] = '\0';
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return PH_ENOMEM;
    InitializeSRWLock(&r->lock);
    r->log = log;
    if (!ph__svc_self_sid(r->self_sid, sizeof(r->self_sid)))
        snprintf(r->self_sid, sizeof(r->self_sid), "SY");
    n = GetSystemWindowsDirectoryW(r->system_root, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        r->system_root[0] = L'\0';
    r->verbs = calloc(cmds->count ? cmds->count : 1, sizeof(*r->verbs));
    if (r->verbs == NULL) {
        free(r);
        return PH_ENOMEM;
    }
    r->verb_count = cmds->count;
    for (i = 0; i < cmds->count; i++) {
        r->verbs[i].cmd = &cmds->items[i];
        r->verbs[i].runner = r;
        r->verbs[i].program = INVALID_HANDLE_VALUE;
    }
    for (i = 0; i < cmds->count && rc == 0; i++)
        rc = prepare_verb(&r->verbs[i], why, why_size);
    if (rc == 0) {
        r->iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
        if (r->iocp == NULL) {
            snprintf(why, why_size, "command verbs: CreateIoCompletionPort failed: error %lu",
                     (unsigned long)GetLastError());
            rc = PH_ESYS;
        }
    }
    if (rc == 0) {
        r->thread = CreateThread(NULL, 0, runner_main, r, 0, NULL);
        if (r->thread == NULL) {
            snprintf(why, why_size, "command verbs: CreateThread failed: error %lu", (unsigned long)GetLastError());
            rc = PH_ESYS;
        }
    }
    if (rc != 0) {
        if (rc == PH_ENOMEM && why_size > 0 && why[0] == '\0')
            snprintf(why, why_size, "command verbs: out of memory");
        ph__svc_cmdrun_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int ph__svc_cmdrun_register(svc_cmdrun *r, ph_router *router)
{
    unsigned i;
    int rc = 0;

    for (i = 0; i < r->verb_count && rc == 0; i++)
        rc = ph_router_add(router, r->verbs[i].cmd->verb, verb_command, &r->verbs[i]);
    return rc;
}

void ph__svc_cmdrun_shutdown(svc_cmdrun *r, DWORD timeout_ms)
{
    DWORD w;

    if (r == NULL || r->thread == NULL)
        return;
    post(r, KEY_QUIT, NULL);
    w = WaitForSingleObject(r->thread, timeout_ms);
    if (w != WAIT_OBJECT_0)
        ph__svc_log_msg(r->log, PH_LOG_ERROR, "command verbs: %llu run(s) not cleaned up %lu ms after the stop; their jobs "
                    "end with the service", (unsigned long long)r->running, (unsigned long)timeout_ms);
}

void ph__svc_cmdrun_free(svc_cmdrun *r)
{
    unsigned i;

    if (r == NULL)
        return;
    if (r->thread != NULL) {
        ph__svc_cmdrun_shutdown(r, 10000);
        if (WaitForSingleObject(r->thread, 0) != WAIT_OBJECT_0) {
            /* Runs left behind hold pointers into r: leak it rather than free memory still in use. */
            return;
        }
        CloseHandle(r->thread);
    }
    if (r->iocp != NULL)
        CloseHandle(r->iocp);
    for (i = 0; i < r->verb_count; i++) {
        cmd_verb *v = &r->verbs[i];
        if (v->program != INVALID_HANDLE_VALUE)
            CloseHandle(v->program);
        free(v->program_path);
        free(v->cmdline);
        free(v->workdir);
    }
    free(r->verbs);
    free(r);
}

void ph__svc_cmdrun_counts(svc_cmdrun *r, uint64_t *running, uint64_t *started)
{
    *running = *started = 0;
    if (r == NULL)
        return;
    AcquireSRWLockShared(&r->lock);
    *running = r->running;
    *started = r->started;
    ReleaseSRWLockShared(&r->lock);
}

unsigned ph__svc_cmdrun_recheck(svc_cmdrun *r, char *why, size_t why_size)
{
    unsigned i, bad = 0;
    char inner[600];

    if (why_size > 0)
        why[0] = '\0';
    for (i = 0; r != NULL && i < r->verb_count; i++) {
        cmd_verb *v = &r->verbs[i];
        DWORD err = ph__svc_cmdprog_recheck(v->program_path, inner, sizeof(inner));
        InterlockedExchange(&v->unsafe, err != 0);
        if (err == 0)
            continue;
        if (bad++ == 0)
            snprintf(why, why_size, "command verb %s is disabled: Program \"%.200s\" is no longer safe: %s",
                     v->cmd->verb, v->cmd->program, inner);
        ph__svc_log_msg(r->log, PH_LOG_ERROR, "command verb %s is disabled until a PARAMCHANGE finds it safe: Program "
                    "\"%s\": %s", v->cmd->verb, v->cmd->program, inner);
    }
    return bad;
}
