#!/usr/bin/env python3
"""docs_check.py — the docs against themselves and the code: links, anchors, values, options, exit and error codes.

    python3 scripts/docs_check.py [--root DIR] [--allow FILE] [-v]

Checks the Markdown a reader is given (README.md, CHANGELOG.md, SECURITY.md, CONTRIBUTING.md, docs/**/*.md,
bench/README.md, examples/**/README*.md, whichever exist) and prints one line per mismatch, `file:line: what`;
exits 1 when there is any, 0 otherwise (2 when the code itself cannot be read: the extraction patterns below no
longer match it). Python 3 standard library only; the ctest tests docs.check and docs.check_selftest run it.

1. Links. Every relative link `[x](path)`, `[x](path#anchor)`, `[x](#anchor)`, `![x](path)`, `[x][ref]` with
   `[ref]: path`, and `<a href="path">` resolves: the file or folder exists (relative to the linking file; a
   leading / is the repository root) and, for a Markdown target, the anchor is one of its headings' GitHub
   anchors (lowercased, punctuation but - and _ removed, spaces to -, repeats get -1, -2, ...) or an explicit
   `<a id=...>`/`<a name=...>` (or id= on another tag). http(s), mailto and other schemes are skipped, and so is text in code.
2. Configuration values, both ways. The code's values are the rows of service/config.c's value table
   (`{SVC_V_..., "Name", "--option", ...}`, the service's Parameters values) and the CamelCase names in
   service/cmdconf.c (Parameters\\Commands\\<VERB> values); settings of the example programs
   (`.name = "X"` in examples/) are known names too. A configuration table in the docs is a Markdown table
   whose first header cell is "value" (or "name", "setting", "registry value") and which has a "type",
   "range" or "default" column. Every row's name must be a value the code reads; every value the service reads
   must be a row of such a table; a row's `--option` must be that value's option; a DWORD row must show the
   code's range (its minimum and maximum appear among the row's numbers). Names written as `--set Name=`,
   `--set-unless-empty Name=`, `--unset Name` and `reg add ...\\Parameters /v Name` must be values too.
3. Options, both ways. An option `--name` written in the docs (code spans, code blocks and prose) must be
   accepted by some program of ours: a string literal "--name" in the sources under program/, service/,
   installer/, bench/, examples/, core/, or a `--name)` case pattern in scripts/ and tests/ shell scripts;
   after `pipehost` it must be one pipehost.exe accepts (program/, service/, installer/). Options of other
   tools are skipped by the command they follow (cmake, ctest, msiexec, npm, ...). Every option pipehost.exe
   accepts must appear somewhere in the docs.
4. Exit codes, both ways. The code's codes are the #defines of service/exitcodes.h: PH_EXIT_* (the service
   and `pipehost run`), PH_CLI_* (the client commands; they also end with PH_EXIT_USAGE) and PH_ADMIN_* (the
   administrator's commands; 0 for success and PH_EXIT_USAGE too). An exit-code table in the docs is a
   Markdown table whose first header cell is "code" or "exit code" and whose rows start with a number. A table
   with a column per group (`| code | the service | the client | install, uninstall, ... |`, a row's "—" or
   empty cell meaning "not this group's") covers each group of its columns. Any other is assigned to one
   group: by an HTML comment `<!-- exit-codes: service|client|admin -->` in the five lines above it, else by
   PH_ names in it, else by the words of its section (its heading and the paragraph just above: "client" ->
   client, the whole words install, uninstall, admin(istrator/ation), reload, config -> admin, else service). Each table's numbers must be codes
   of its group, a PH_ name in a row must have the row's number, and each group's codes must all appear in its
   tables (every group needs at least one table).
5. Protocol error codes, both ways. The codes the server answers are the literals of
   `ph_response_err(resp, "code", ...)` in core/, service/, installer/, program/ (examples/ and bench/ add known
   ones). A code the docs name (`ERR code ...` anywhere, or the first cell of a table headed "code" whose rows
   are `code-words`) must be one of them, and each of pipehost's must be named somewhere.
6. MSI properties, both ways. The public properties of installer/pipehost.wxs and cmake/service.wxs.in
   (`<Property Id="NAME"/>`, no value) and the value each sets (`--set-unless-empty "Name=[NAME]"`). A row of a
   table headed "property" must name one, and the configuration value in its second column must be the one it
   sets; each public property must be mentioned somewhere in the docs.
7. Event Log ids, both ways. service/messages.mc's MessageId=N with its Severity; a table headed "id" (or
   "event id") with numbered rows lists them: each row's id must be a MessageId, its "type"/"level" column
   the message's severity, and every MessageId must be a row.
8. Answer keys, code to docs. Each key of the built-in verbs' key=value answers (STATUS, WHOAMI: "key=%..."
   in service/verbs.c's format strings) must be named in the docs' code (`key`, or `key=...` in a code span
   or block).
9. service/config.h's comments on the value ids (`SVC_V_X, /* Name --option DWORD min..max */`) give the
   name, option, type and DWORD range of config.c's row for that id.

The allow-list (scripts/docs_check.allow) names what is deliberately not matched, each with its reason; it
is for names that are not user-facing (options of other tools, internal options), never for real drift.
"""

import argparse
import os
import re
import sys
import urllib.parse

DOC_GLOBS_TOP = ["README.md", "CHANGELOG.md", "SECURITY.md", "CONTRIBUTING.md", "bench/README.md"]

# Commands whose options are not ours. A wrapper (sudo, wine, bash, ...) is skipped and the next word is the
# command. The words are compared without a path and without .exe/.cmd/.bat.
EXTERNAL_COMMANDS = {
    "cmake", "ctest", "cpack", "git", "gcc", "cc", "clang", "clang-tidy", "cppcheck", "x86_64-w64-mingw32-gcc",
    "make", "ninja", "npm", "npx", "node", "dotnet", "go", "py", "python", "python3", "pip", "pip3", "wineserver",
    "wineboot", "winecfg", "msiexec", "wixl", "msibuild", "msiinfo", "msidump", "apt-get", "apt", "apt-cache",
    "dpkg", "dpkg-query", "curl", "wget", "docker", "gnuplot", "tail", "head", "grep", "sed", "awk", "find",
    "sort", "realpath", "pkg-config", "sc", "reg", "net", "powershell", "pwsh", "icacls", "tar", "gdb",
    "valgrind", "ls", "cat", "rm", "cp", "mv", "mkdir", "uuidgen", "cargo", "rustc", "java", "javac", "ssh",
    "tr", "xargs", "date", "id", "nproc", "free", "uname", "objdump", "nm", "strings", "file", "diff", "patch",
    "shellcheck", "clang-format", "gofmt", "certutil", "wevtutil", "sc.exe", "taskkill", "tasklist", "runas",
}
WRAPPERS = {"sudo", "nice", "env", "exec", "time", "wine", "wine64", "bash", "sh", "call", "start", "&", "cmd",
            "timeout", "nohup", "ionice", "taskset", "stdbuf"}
PIPEHOST_COMMANDS = {"pipehost"}

CONFIG_HEADERS = {"value", "name", "setting", "registry value", "value name", "parameter"}
EXIT_HEADERS = {"code", "exit code", "exit", "status"}
GROUPS = ("service", "client", "admin")
GROUP_DESC = {
    "service": "the service's and `pipehost run`'s codes (PH_EXIT_* in service/exitcodes.h)",
    "client": "the client commands' codes (PH_CLI_* and PH_EXIT_USAGE in service/exitcodes.h)",
    "admin": "the administrator's commands' codes (0, PH_ADMIN_* and PH_EXIT_USAGE in service/exitcodes.h)",
}


class Problems:
    def __init__(self, root):
        self.root = root
        self.items = []
        self.stats = {"links": 0, "anchors": 0, "config rows": 0, "options": 0, "exit-code tables": 0}

    def add(self, path, line, text):
        rel = os.path.relpath(path, self.root) if os.path.isabs(path) else path
        self.items.append((rel, line, text))

    def report(self):
        for rel, line, text in sorted(self.items, key=lambda t: (t[0], t[1], t[2])):
            print(f"{rel}:{line}: {text}")
        return len(self.items)


class CodeUnreadable(Exception):
    pass


# ------------------------------------------------------------------------------------------------ the code

def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def walk(root, sub, exts):
    base = os.path.join(root, sub)
    out = []
    for d, dirs, files in os.walk(base):
        dirs[:] = sorted(x for x in dirs if x not in (".git", "build", "node_modules"))
        for f in sorted(files):
            if any(f.endswith(e) for e in exts):
                out.append(os.path.join(d, f))
    return out


class Code:
    """What the code says: configuration values, options and exit codes, with where each was found."""

    def __init__(self, root):
        self.root = root
        self.config = {}        # name -> dict(option, type, min, max, family, where)
        self.pipehost_options = {}  # "--x" -> where (pipehost.exe: program/, service/, installer/)
        self.options = {}       # "--x" -> where (every program and script of ours)
        self.exit_codes = {g: {} for g in GROUPS}  # group -> {number: macro}
        self.macros = {}        # PH_... -> number
        self.macro_line = {}    # PH_... -> its line in service/exitcodes.h
        self.group_line = {}    # group -> the line of its first #define
        self.err_codes = {}     # protocol error code ("ERR <code> ...") -> where, for pipehost's own
        self.example_err_codes = {}  # the same in examples/ and bench/ (known, not required in the docs)
        self._config()
        self._options()
        self._exit_codes()
        self._err_codes()
        self.msi_properties = {}  # public MSI property -> where (installer/pipehost.wxs, cmake/service.wxs.in)
        self.msi_sets = {}        # public MSI property -> the configuration value it sets (--set-unless-empty)
        self._msi()
        self.events = {}          # Event Log id -> (severity word, where) from service/messages.mc
        self._events()
        self.answer_keys = {}     # key of a built-in verb's key=value answer (service/verbs.c) -> where
        self._answer_keys()

    def _need(self, path):
        full = os.path.join(self.root, path)
        if not os.path.isfile(full):
            raise CodeUnreadable(f"{path}: missing")
        return read(full)

    def _config(self):
        text = self._need("service/config.c")
        row = re.compile(r'\{\s*(SVC_V_\w+)\s*,\s*"(\w+)"\s*,\s*"(--[a-z0-9-]+)"\s*,\s*SVC_T_(DWORD|STRING)\s*,'
                         r'\s*([^,]+?)\s*,\s*([^,]+?)\s*,')
        for m in row.finditer(text):
            vid, name, option, typ, lo, hi = m.groups()
            self.config[name] = {"option": option, "type": typ, "min": c_number(lo), "max": c_number(hi),
                                 "family": "service", "id": vid,
                                 "where": "service/config.c:%d" % line_of(text, m.start())}
        if len(self.config) < 5:
            raise CodeUnreadable("service/config.c: the value table ({SVC_V_..., \"Name\", \"--option\", SVC_T_...,"
                                 " min, max, ...}) was not found")
        text = self._need("service/cmdconf.c")
        dword = {}
        for m in re.finditer(r'\{\s*"([A-Z][A-Za-z0-9]+)"\s*,\s*([^,]+?)\s*,\s*([^,]+?)\s*,\s*offsetof', text):
            dword[m.group(1)] = (c_number(m.group(2)), c_number(m.group(3)))
        n = 0
        for m in re.finditer(r'"([A-Z][a-z][A-Za-z0-9]*)"', text):
            name = m.group(1)
            if name in self.config:
                continue
            lo, hi = dword.get(name, (None, None))
            self.config[name] = {"option": None, "type": "DWORD" if name in dword else "?", "min": lo, "max": hi,
                                 "family": "command", "where": "service/cmdconf.c:%d" % line_of(text, m.start())}
            n += 1
        if n < 3 or not dword:
            raise CodeUnreadable("service/cmdconf.c: the command verb values (CamelCase string literals, the "
                                 "{\"Name\", min, max, offsetof(...)} table) were not found")
        # The example programs' own settings (ph_service_setting rows): known names, not required in the docs.
        for path in walk(self.root, "examples", (".c",)):
            t = read(path)
            for m in re.finditer(r'\.name\s*=\s*"(\w+)"(?:\s*,\s*\.option\s*=\s*"(--[a-z0-9-]+)")?', t):
                if m.group(1) not in self.config:
                    self.config[m.group(1)] = {"option": m.group(2), "type": "?", "min": None, "max": None,
                                               "family": "example",
                                               "where": "%s:%d" % (os.path.relpath(path, self.root),
                                                                   line_of(t, m.start()))}

    def _options(self):
        exact = re.compile(r'"(--[a-z0-9][a-z0-9-]*)=?"')
        prefix = re.compile(r'''["'](--[a-z0-9][a-z0-9-]*)''')
        for sub in ("program", "service", "installer"):
            for path in walk(self.root, sub, (".c",)):
                t = read(path)
                for m in exact.finditer(t):
                    self.pipehost_options.setdefault(m.group(1), "%s:%d" % (os.path.relpath(path, self.root),
                                                                            line_of(t, m.start())))
        if len(self.pipehost_options) < 10:
            raise CodeUnreadable("program/, service/, installer/: fewer than 10 option literals (\"--name\") found")
        self.options.update(self.pipehost_options)
        src_exts = (".c", ".h", ".cs", ".go", ".py", ".js", ".ps1", ".cmd", ".bat", ".wxs", ".in")
        for sub in ("program", "service", "installer", "bench", "examples", "core"):
            for path in walk(self.root, sub, src_exts):
                t = read(path)
                for m in prefix.finditer(t):
                    self.options.setdefault(m.group(1), "%s:%d" % (os.path.relpath(path, self.root),
                                                                   line_of(t, m.start())))
        case_pat = re.compile(r'^\s*\(?((?:-[-a-zA-Z0-9]+[=*]*\|?)+)\)', re.M)
        for sub in ("scripts", "tests", "bench", "installer"):
            for path in walk(self.root, sub, (".sh",)):
                if os.path.relpath(path, self.root).startswith(os.path.join("tests", "docs", "")):
                    continue  # the fixtures of docs_check's own self-test
                t = read(path)
                for m in case_pat.finditer(t):
                    for alt in m.group(1).split("|"):
                        alt = alt.rstrip("=*")
                        if re.fullmatch(r"--[a-z0-9][a-z0-9-]*", alt):
                            self.options.setdefault(alt, "%s:%d" % (os.path.relpath(path, self.root),
                                                                    line_of(t, m.start())))

    def _exit_codes(self):
        text = self._need("service/exitcodes.h")
        for m in re.finditer(r'^#define\s+(PH_(EXIT|CLI|ADMIN)_\w+)\s+(\d+)', text, re.M):
            macro, kind, num = m.group(1), m.group(2), int(m.group(3))
            self.macros[macro] = num
            self.macro_line[macro] = line_of(text, m.start())
            group = {"EXIT": "service", "CLI": "client", "ADMIN": "admin"}[kind]
            self.exit_codes[group][num] = macro
            self.group_line.setdefault(group, self.macro_line[macro])
        usage = self.macros.get("PH_EXIT_USAGE")
        if usage is None or not self.exit_codes["client"] or not self.exit_codes["admin"]:
            raise CodeUnreadable("service/exitcodes.h: PH_EXIT_USAGE, PH_CLI_* or PH_ADMIN_* #defines not found")
        # The client and administrator's commands end with PH_EXIT_USAGE for a bad command line, and the
        # administrator's with 0 for success (exitcodes.h says so in words).
        self.exit_codes["client"].setdefault(usage, "PH_EXIT_USAGE")
        self.exit_codes["admin"].setdefault(usage, "PH_EXIT_USAGE")
        self.exit_codes["admin"].setdefault(0, "0 (success)")


    def _err_codes(self):
        call = re.compile(r'ph_response_errf?\(\s*[^,;]+,\s*"([a-z][a-z0-9-]*)"')
        for subs, into in ((("core", "service", "installer", "program"), self.err_codes),
                           (("examples", "bench"), self.example_err_codes)):
            for sub in subs:
                for path in walk(self.root, sub, (".c",)):
                    t = read(path)
                    for m in call.finditer(t):
                        into.setdefault(m.group(1), "%s:%d" % (os.path.relpath(path, self.root),
                                                               line_of(t, m.start())))
        if len(self.err_codes) < 3:
            raise CodeUnreadable("core/, service/: fewer than 3 protocol error codes (ph_response_err(resp, "
                                 "\"code\", ...)) found")


    def _msi(self):
        for rel in ("installer/pipehost.wxs", "cmake/service.wxs.in"):
            path = os.path.join(self.root, rel)
            if not os.path.isfile(path):
                continue
            t = read(path)
            # Public properties an administrator passes: upper-case, declared without a value.
            for m in re.finditer(r'<Property\s+Id="([A-Z][A-Z0-9_]*)"\s*/>', t):
                self.msi_properties.setdefault(m.group(1), "%s:%d" % (rel, line_of(t, m.start())))
            for m in re.finditer(r'--set-unless-empty\s+(?:&quot;|")?(\w+)=\[([A-Z][A-Z0-9_]*)\]', t):
                self.msi_sets[m.group(2)] = m.group(1)


    def _events(self):
        path = os.path.join(self.root, "service", "messages.mc")
        if not os.path.isfile(path):
            return
        t = read(path)
        for m in re.finditer(r"^MessageId=(\d+)\s*\nSeverity=(\w+)", t, re.M):
            word = {"informational": "information", "success": "success"}.get(m.group(2).lower(), m.group(2).lower())
            self.events[int(m.group(1))] = (word, "service/messages.mc:%d" % line_of(t, m.start()))
        if not self.events:
            raise CodeUnreadable("service/messages.mc: no MessageId=N / Severity=... pairs found")


    def _answer_keys(self):
        path = os.path.join(self.root, "service", "verbs.c")
        if not os.path.isfile(path):
            return
        t = read(path)
        # In the answers' format strings: "key=%..." at the start of a literal or after \n.
        for m in re.finditer(r'(?:"|\\n)([a-z][a-z0-9_]*)=%', t):
            self.answer_keys.setdefault(m.group(1), "service/verbs.c:%d" % line_of(t, m.start()))
        if not self.answer_keys:
            raise CodeUnreadable("service/verbs.c: no \"key=%...\" in the built-in verbs' answers found")


def c_number(s):
    """The value of a simple C constant expression (64u * 1024 * 1024, SVC_INFINITE), or None."""
    s = s.strip()
    if s == "SVC_INFINITE":
        return 0xFFFFFFFF
    expr = re.sub(r"(?<=\d)[uUlL]+\b", "", s)
    if not re.fullmatch(r"[0-9xXa-fA-F\s*+()-]+", expr):
        return None
    try:
        return int(eval(expr, {"__builtins__": {}}))  # digits and * + - ( ) only, checked above
    except Exception:
        return None


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


# ------------------------------------------------------------------------------------------------ the docs

class Doc:
    """One Markdown file: its lines, which are code, its headings' anchors, its tables."""

    def __init__(self, root, path):
        self.root = root
        self.path = path
        self.rel = os.path.relpath(path, root)
        self.lines = read(path).split("\n")
        self.fence = [False] * len(self.lines)   # inside a fenced code block (the fence lines too)
        self.fence_lang = [""] * len(self.lines)
        self._fences()
        self.anchors = set()
        self.headings = []   # (line index, level, text)
        self._headings()
        self.spans = []      # (line index where it starts, text) of each code span; a span may cross lines
        self.masked = list(self.lines)  # each line with its code spans blanked out (fenced lines: empty)
        self.paragraphs = []  # (index of its first line, its masked text)
        self._code_spans()

    def _fences(self):
        open_fence = None
        lang = ""
        for i, line in enumerate(self.lines):
            s = line.lstrip()
            if open_fence is None:
                m = re.match(r"(`{3,}|~{3,})\s*([\w+#-]*)", s)
                if m:  # any indentation: a fence in a nested list item is indented further
                    open_fence, lang = m.group(1), m.group(2).lower()
                    self.fence[i] = True
                    self.fence_lang[i] = lang
            else:
                self.fence[i] = True
                self.fence_lang[i] = lang
                if s.startswith(open_fence) and s.strip(open_fence[0]).strip() == "":
                    open_fence = None

    def _headings(self):
        counts = {}
        for i, line in enumerate(self.lines):
            if self.fence[i]:
                continue
            for m in re.finditer(r'<(?:a\s+[^>]*?(?:id|name)|\w+\s+[^>]*?id)\s*=\s*["\']([^"\']+)["\']', line, re.I):
                self.anchors.add(m.group(1))
            text = None
            level = 0
            m = re.match(r" {0,3}(#{1,6})(?:\s+(.*?))?\s*$", line)
            if m:
                level = len(m.group(1))
                text = re.sub(r"\s+#+\s*$", "", m.group(2) or "")
            elif (i > 0 and re.match(r" {0,3}(=+|-+)\s*$", line) and self.lines[i - 1].strip()
                  and not self.fence[i - 1] and not re.match(r"\s*([|#>*+-]|\d+\.)", self.lines[i - 1])):
                level = 1 if line.strip()[0] == "=" else 2
                text = self.lines[i - 1].strip()
            if text is None:
                continue
            slug = github_slug(text)
            n = counts.get(slug, 0)
            counts[slug] = n + 1
            self.anchors.add(slug if n == 0 else "%s-%d" % (slug, n))
            self.headings.append((i, level, text))

    def _code_spans(self):
        """Code spans per paragraph (consecutive non-blank lines; each table row alone), as CommonMark pairs them."""
        i, n = 0, len(self.lines)
        while i < n:
            if self.fence[i] or not self.lines[i].strip():
                if self.fence[i]:
                    self.masked[i] = ""
                i += 1
                continue
            j = i + 1
            if not self.lines[i].lstrip().startswith("|"):
                while (j < n and not self.fence[j] and self.lines[j].strip()
                       and not self.lines[j].lstrip().startswith(("|", "#"))):
                    j += 1
            text = "\n".join(self.lines[i:j])
            starts = [0]
            for line in self.lines[i:j]:
                starts.append(starts[-1] + len(line) + 1)
            masked = list(text)
            for m in re.finditer(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", text, re.S):
                line_idx = i + max(k for k in range(j - i) if starts[k] <= m.start())
                self.spans.append((line_idx, m.group(2)))
                for k in range(m.start(), m.end()):
                    if masked[k] != "\n":
                        masked[k] = " "
            for k, line in enumerate("".join(masked).split("\n")):
                self.masked[i + k] = line
            self.paragraphs.append((i, "\n".join(self.masked[i:j])))
            i = j

    def paragraph_matches(self, pattern):
        """(line index, match) of each match of pattern in the paragraphs' text outside code."""
        for start, text in self.paragraphs:
            for m in pattern.finditer(text):
                yield start + text.count("\n", 0, m.start()), m

    def prose_lines(self):
        """(index, line without its code spans) for each line outside code blocks."""
        for i, line in enumerate(self.lines):
            if not self.fence[i]:
                yield i, self.masked[i]

    def tables(self):
        """Each table: (index of its header line, header cells, [(index, cells)])."""
        out = []
        i = 0
        n = len(self.lines)
        while i < n:
            if (not self.fence[i] and self.lines[i].lstrip().startswith("|") and i + 1 < n
                    and re.match(r"\s*\|?\s*:?-{2,}", self.lines[i + 1])):
                header = split_row(self.lines[i])
                rows = []
                j = i + 2
                while j < n and not self.fence[j] and self.lines[j].lstrip().startswith("|"):
                    rows.append((j, split_row(self.lines[j])))
                    j += 1
                out.append((i, header, rows))
                i = j
            else:
                i += 1
        return out

    def section_context(self, index):
        """The nearest heading above a line and the paragraph just above it, as one text."""
        head = ""
        for hi, _, text in self.headings:
            if hi < index:
                head = text
        para = []
        j = index - 1
        while j >= 0 and not self.lines[j].strip():
            j -= 1
        while j >= 0 and self.lines[j].strip() and not self.lines[j].lstrip().startswith("#"):
            para.insert(0, self.lines[j])
            j -= 1
        return head + "\n" + "\n".join(para)


def split_row(line):
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells = []
    cur = ""
    in_code = False
    k = 0
    while k < len(s):
        c = s[k]
        if c == "\\" and k + 1 < len(s) and s[k + 1] == "|":
            cur += "|"
            k += 2
            continue
        if c == "`":
            in_code = not in_code
        if c == "|" and not in_code:
            cells.append(cur.strip())
            cur = ""
        else:
            cur += c
        k += 1
    cells.append(cur.strip())
    return cells


def plain(cell):
    """A cell's text without Markdown emphasis and code marks."""
    return re.sub(r"[`*_]", "", cell).strip()


def github_slug(text):
    """GitHub's anchor for a heading: the rendered text, lowercased, punctuation but - and _ removed, spaces to -."""
    parts = re.split(r"((?<!`)`+(?!`).+?(?<!`)`+(?!`))", text)  # code spans at odd indexes: kept as written
    for k in range(0, len(parts), 2):
        t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", parts[k])
        t = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", t)
        t = re.sub(r"<[^>]+>", "", t)
        t = re.sub(r"(\*{1,3})(\S(?:.*?\S)?)\1", r"\2", t)
        parts[k] = re.sub(r"(?<!\w)(_{1,3})(\S(?:.*?\S)?)\1(?!\w)", r"\2", t)
    for k in range(1, len(parts), 2):
        parts[k] = parts[k].strip("`").strip()
    t = "".join(parts).strip().lower()
    t = re.sub(r"[^\w\- ]", "", t)
    return t.replace(" ", "-")


def find_docs(root):
    paths = []
    for rel in DOC_GLOBS_TOP:
        p = os.path.join(root, rel)
        if os.path.isfile(p):
            paths.append(p)
    for p in walk(root, "docs", (".md",)):
        paths.append(p)
    for p in walk(root, "examples", (".md",)):
        if os.path.basename(p).startswith("README"):
            paths.append(p)
    return paths


# ------------------------------------------------------------------------------------------------ 1. links

LINK_INLINE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+[\"'(][^)]*)?\)")
LINK_REF = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])+)\]\[([^\]]*)\]")
LINK_DEF = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*(<[^>]*>|\S+)")
LINK_HREF = re.compile(r'<a\s+[^>]*?href\s*=\s*["\']([^"\']+)["\']', re.I)


def check_links(doc, docs_by_path, root, problems):
    defs = {}
    for i, line in doc.prose_lines():
        m = LINK_DEF.match(doc.lines[i])
        if m:
            defs[m.group(1).strip().lower()] = (i, m.group(2).strip("<>"))
    targets = [(i, target) for i, target in defs.values()]
    for i, m in doc.paragraph_matches(LINK_INLINE):
        targets.append((i, m.group(3).strip("<>")))
    for i, m in doc.paragraph_matches(LINK_REF):
        ref = re.sub(r"\s+", " ", m.group(3) or m.group(2)).strip().lower()
        if ref not in defs:
            problems.add(doc.path, i + 1, "reference link [%s][%s] has no definition"
                         % (re.sub(r"\s+", " ", m.group(2)), m.group(3)))
    for i, m in doc.paragraph_matches(LINK_HREF):
        targets.append((i, m.group(1)))
    for i, target in targets:
        check_target(doc, i, target, docs_by_path, root, problems)


def check_target(doc, i, target, docs_by_path, root, problems):
    if not target or re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return  # http:, https:, mailto:, ...
    problems.stats["links"] += 1
    path_part, _, anchor = target.partition("#")
    path_part = urllib.parse.unquote(path_part)
    anchor = urllib.parse.unquote(anchor)
    if path_part == "":
        dest = doc.path
    elif path_part.startswith("/"):
        dest = os.path.normpath(os.path.join(root, path_part.lstrip("/")))
    else:
        dest = os.path.normpath(os.path.join(os.path.dirname(doc.path), path_part))
    if not os.path.exists(dest):
        problems.add(doc.path, i + 1, "link to %s: no such file or folder (%s)" % (target, os.path.relpath(dest, root)))
        return
    if not anchor or not dest.endswith(".md") or os.path.isdir(dest):
        return
    problems.stats["anchors"] += 1
    tdoc = docs_by_path.get(dest)
    if tdoc is None:
        tdoc = Doc(root, dest)
        docs_by_path[dest] = tdoc
    if anchor not in tdoc.anchors:
        near = sorted(a for a in tdoc.anchors if anchor[:6] and a.startswith(anchor[:6]))[:3]
        hint = (" (similar: %s)" % ", ".join("#" + a for a in near)) if near else ""
        problems.add(doc.path, i + 1, "link to %s: %s has no heading or <a id> with anchor #%s%s"
                     % (target, os.path.relpath(dest, root), anchor, hint))


# ------------------------------------------------------------------------------------------------ 2. configuration

def is_config_table(header):
    if not header:
        return False
    first = plain(header[0]).lower()
    rest = " ".join(plain(h).lower() for h in header[1:])
    return first in CONFIG_HEADERS and re.search(r"\b(type|range|default)\b", rest) is not None


def row_numbers(text):
    """The numbers a row shows, with 1,048,576 / 1 048 576 read as one number and 64 KiB/MiB/GiB multiplied out."""
    t = re.sub(r"(?<=\d)[,  ](?=\d{3}\b)", "", text)
    nums = set()
    for m in re.finditer(r"(\d+)(?:\s*(KiB|MiB|GiB|KB|MB|GB|k|s|min|h)\b)?", t):
        v = int(m.group(1))
        unit = m.group(2)
        mult = {"KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}
        nums.add(v)
        if unit in mult:
            nums.add(v * mult[unit])
    return nums


def check_config(docs, code, allow, problems):
    documented = {}   # name -> (doc, line)
    for doc in docs:
        for hi, header, rows in doc.tables():
            if not is_config_table(header):
                continue
            for ri, cells in rows:
                # The row's name: a lone identifier (a key path such as `Parameters\Verbs\<VERB>` is no value).
                m = re.match(r"\s*`?([A-Za-z][A-Za-z0-9]*)(?![\\\w<])`?", cells[0]) if cells else None
                if not m:
                    continue
                name = m.group(1)
                info = code.config.get(name)
                if info is None:
                    problems.add(doc.path, ri + 1, "configuration table names %s, which the code does not read "
                                 "(service/config.c, service/cmdconf.c)" % name)
                    continue
                documented.setdefault(name, (doc, ri))
                problems.stats["config rows"] += 1
                row = " | ".join(cells[1:])
                opts = set(re.findall(r"(?<![\w-])--[a-z0-9][a-z0-9-]*", row))
                if opts and info["option"] and info["option"] not in opts:
                    problems.add(doc.path, ri + 1, "configuration table gives %s the option %s; the code's is %s (%s)"
                                 % (name, ", ".join(sorted(opts)), info["option"], info["where"]))
                if info["type"] == "DWORD" and info["min"] is not None and info["max"] is not None:
                    nums = row_numbers(row)
                    missing = [str(v) for v in (info["min"], info["max"]) if v not in nums]
                    if missing:
                        problems.add(doc.path, ri + 1, "configuration table: %s's range in the code is %d..%d (%s); "
                                     "the row does not show %s" % (name, info["min"], info["max"], info["where"],
                                                                   " and ".join(missing)))
    for name, info in sorted(code.config.items()):
        if info["family"] in ("service", "command") and name not in documented \
                and ("config-undocumented", name) not in allow:
            what = "Parameters value" if info["family"] == "service" else "Parameters\\Commands\\<VERB> value"
            problems.add(info["where"].split(":")[0], int(info["where"].split(":")[1]),
                         "%s %s is in no configuration table of the docs (a table headed | value | ... | "
                         "type/range/default |)" % (what, name))
    # Names given to --set, --unset and reg add ... \Parameters /v.
    pats = [re.compile(r"--set(?:-unless-empty)?[ =]+\"?([A-Za-z][A-Za-z0-9]*)="),
            re.compile(r"--unset[ =]+([A-Za-z][A-Za-z0-9]*)\b"),
            re.compile(r"\\Parameters\"?\s+/v\s+\"?([A-Za-z][A-Za-z0-9]*)")]
    for doc in docs:
        for i, line in enumerate(doc.lines):
            for p in pats:
                for m in p.finditer(line):
                    name = m.group(1)
                    if name in ("Name",) or name in code.config or ("config-name", name) in allow:
                        continue
                    problems.add(doc.path, i + 1, "%s names %s, which is no configuration value of the code"
                                 % (m.group(0).split()[0], name))


# ------------------------------------------------------------------------------------------------ 3. options

OPT = re.compile(r"(?<![\w/-])(--[a-z0-9][a-z0-9-]*)")


def command_segments(text):
    """Splits a command line into (command word, text) segments at && || | ; and ( ."""
    out = []
    for seg in re.split(r"&&|\|\||(?<!\\)\|(?![|])|;|\$\(|`", text):
        words = seg.split()
        cmd = None
        k = 0
        while k < len(words):
            w = words[k].strip("\"'()")
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w):   # VAR=value
                k += 1
                continue
            base = re.split(r"[\\/]", w)[-1].lower()
            base = re.sub(r"\.(exe|cmd|bat)$", "", base)
            if base in WRAPPERS:
                k += 1
                if base == "timeout":
                    while k < len(words) and re.match(r"^(-\S+|\d+\S*)$", words[k]):
                        k += 1
                elif base == "cmd":
                    while k < len(words) and words[k].lower() in ("/c", "/k", "/s"):
                        k += 1
                else:
                    while k < len(words) and words[k].startswith("-"):
                        k += 1
                continue
            cmd = base
            break
        out.append((cmd, seg))
    return out


def doc_options(doc):
    """Each option written in a doc: (line index, option, command it follows or None)."""
    found = []
    i = 0
    n = len(doc.lines)
    while i < n:
        line = doc.lines[i]
        if doc.fence[i]:
            if re.match(r"\s*(`{3,}|~{3,})", line):
                i += 1
                continue
            # Join continuation lines (\ in sh, ^ in cmd, ` in PowerShell).
            start = i
            text = line
            while re.search(r"[\\^`]\s*$", text) and i + 1 < n and doc.fence[i + 1] \
                    and not re.match(r"\s*(`{3,}|~{3,})", doc.lines[i + 1]):
                i += 1
                text = re.sub(r"[\\^`]\s*$", " ", text) + doc.lines[i]
            text = re.sub(r"(^|\s)(#|//|REM\b|::).*$", "", text) if doc.fence_lang[start] not in ("c", "h") else text
            for cmd, seg in command_segments(text):
                for m in OPT.finditer(seg):
                    found.append((start, m.group(1), cmd))
            i += 1
            continue
        for m in OPT.finditer(doc.masked[i]):
            found.append((i, m.group(1), None))
        i += 1
    for i, span in doc.spans:
        for cmd, seg in command_segments(span.replace("\n", " ")):
            for m in OPT.finditer(seg):
                found.append((i, m.group(1), cmd))
    return found


def check_options(docs, code, allow, problems):
    mentioned = set()
    for doc in docs:
        for i, opt, cmd in doc_options(doc):
            mentioned.add(opt)
            problems.stats["options"] += 1
            if cmd in EXTERNAL_COMMANDS:
                continue
            if ("option-external", opt) in allow:
                continue
            if cmd in PIPEHOST_COMMANDS:
                if opt not in code.pipehost_options and ("option-example", opt) not in allow:
                    where = (" (it is an option of %s, not of pipehost.exe)" % code.options[opt]) \
                        if opt in code.options else ""
                    problems.add(doc.path, i + 1, "option %s after `pipehost` is not accepted by pipehost.exe "
                                 "(no \"%s\" literal in program/, service/, installer/)%s" % (opt, opt, where))
            elif opt not in code.options:
                problems.add(doc.path, i + 1, "option %s is accepted by no program or script of ours (program/, "
                             "service/, installer/, bench/, examples/, core/, scripts/)" % opt)
    for opt, where in sorted(code.pipehost_options.items()):
        if opt not in mentioned and ("option-undocumented", opt) not in allow:
            f, _, ln = where.rpartition(":")
            problems.add(f, int(ln), "pipehost.exe accepts %s, which the docs never mention" % opt)


# ------------------------------------------------------------------------------------------------ 4. exit codes

# Words that make a table the administrator's commands' (whole words: "installed" or "configuration" are not).
ADMIN_WORDS = r"\b(install|uninstall|administration|administrators?|administrator's|admin|reload|config)\b"


def exit_table_group(doc, hi, header, rows, code):
    for j in range(max(0, hi - 5), hi):
        m = re.search(r"<!--\s*exit-codes:\s*(\w+)\s*-->", doc.lines[j])
        if m and m.group(1) in GROUPS:
            return m.group(1), "marker"
    text = " ".join(" ".join(c) for _, c in rows)
    kinds = set(re.findall(r"PH_(EXIT|CLI|ADMIN)_", text)) - {"EXIT"} if "PH_CLI_" in text or "PH_ADMIN_" in text \
        else set(re.findall(r"PH_(EXIT|CLI|ADMIN)_", text))
    if len(kinds) == 1:
        return {"EXIT": "service", "CLI": "client", "ADMIN": "admin"}[kinds.pop()], "PH_ names"
    ctx = (doc.section_context(hi) + " " + " ".join(header)).lower()
    if re.search(r"\bclient", ctx) and not re.search(ADMIN_WORDS, ctx):
        return "client", "section words"
    if re.search(ADMIN_WORDS, ctx):
        return "admin", "section words"
    return "service", "section words"


def column_groups(header):
    """For a table with one column per group (| code | the service | the client | install, uninstall, ... |): the
    group of each such column, when at least two groups have one; else {}."""
    cols = {}
    for k, cell in enumerate(header[1:], 1):
        t = plain(cell).lower()
        if re.search(r"\bclient", t):
            cols[k] = "client"
        elif re.search(ADMIN_WORDS, t):
            cols[k] = "admin"
        elif re.search(r"\b(service|run)\b", t):
            cols[k] = "service"
    return cols if len(set(cols.values())) >= 2 else {}


def check_exit_codes(docs, code, allow, problems):
    seen = {g: set() for g in GROUPS}
    tables = {g: 0 for g in GROUPS}
    for doc in docs:
        for hi, header, rows in doc.tables():
            if not header or plain(header[0]).lower() not in EXIT_HEADERS:
                continue
            numbered = [(ri, cells, re.match(r"\s*`?(\d+)`?", plain(cells[0])))
                        for ri, cells in rows if cells]
            if not numbered or sum(1 for _, _, m in numbered if m) * 2 < len(numbered):
                continue  # e.g. the protocol's ERR codes: words, not numbers
            problems.stats["exit-code tables"] += 1
            cols = column_groups(header)
            if cols:
                how = "column headings"
                for g in set(cols.values()):
                    tables[g] += 1
            else:
                group, how = exit_table_group(doc, hi, header, rows, code)
                tables[group] += 1
            for ri, cells, m in numbered:
                if not m:
                    continue
                num = int(m.group(1))
                if cols:
                    groups = sorted({g for k, g in cols.items()
                                     if k < len(cells) and plain(cells[k]).lower() not in ("", "-", "–", "—", "n/a")})
                else:
                    groups = [group]
                for g in groups:
                    seen[g].add(num)
                    if num not in code.exit_codes[g] and ("exit-code", "%s:%d" % (g, num)) not in allow:
                        problems.add(doc.path, ri + 1, "exit code %d is not one of %s (table taken as %s by its %s)"
                                     % (num, GROUP_DESC[g], g, how))
                for macro in re.findall(r"\b(PH_(?:EXIT|CLI|ADMIN)_\w+)", " ".join(cells)):
                    if macro not in code.macros:
                        problems.add(doc.path, ri + 1, "%s is not defined in service/exitcodes.h" % macro)
                    elif code.macros[macro] != num:
                        problems.add(doc.path, ri + 1, "%s is %d in service/exitcodes.h, not %d"
                                     % (macro, code.macros[macro], num))
    for g in GROUPS:
        if tables[g] == 0:
            problems.add("service/exitcodes.h", code.group_line.get(g, 1),
                         "no exit-code table in the docs for %s: add a table | code | meaning | (mark it "
                         "<!-- exit-codes: %s --> if its section does not say whose codes they are), or a column "
                         "for them in a | code | service | client | administration | table" % (GROUP_DESC[g], g))
            continue
        for num, macro in sorted(code.exit_codes[g].items()):
            if num not in seen[g] and ("exit-code", "%s:%d" % (g, num)) not in allow:
                problems.add("service/exitcodes.h", code.macro_line.get(macro, code.group_line.get(g, 1)),
                             "exit code %d (%s) is missing from the docs' table of %s"
                             % (num, macro, GROUP_DESC[g]))


# ------------------------------------------------------------------------------------------------ 5. ERR codes

ERR_WORD = re.compile(r"\bERR\s+([a-z][a-z0-9-]*)\b(?![.(])")
ERR_PLACEHOLDERS = {"code", "text"}


def check_err_codes(docs, code, allow, problems):
    mentioned = set()
    for doc in docs:
        found = []
        for i, line in enumerate(doc.lines):
            for m in ERR_WORD.finditer(line):
                found.append((i, m.group(1)))
        for hi, header, rows in doc.tables():
            if not header or plain(header[0]).lower() not in EXIT_HEADERS:
                continue
            words = [(ri, re.fullmatch(r"`([a-z][a-z0-9-]*)`", cells[0].strip())) for ri, cells in rows if cells]
            if words and sum(1 for _, m in words if m) * 2 >= len(words):
                found.extend((ri, m.group(1)) for ri, m in words if m)
        for i, word in found:
            if word in ERR_PLACEHOLDERS:
                continue
            mentioned.add(word)
            problems.stats["error codes"] = problems.stats.get("error codes", 0) + 1
            if word not in code.err_codes and word not in code.example_err_codes and ("err-code", word) not in allow:
                problems.add(doc.path, i + 1, "error code %s is answered nowhere in the code (no ph_response_err(…, "
                             "\"%s\", …) in core/, service/, installer/, program/, examples/, bench/)" % (word, word))
    for word, where in sorted(code.err_codes.items()):
        if word not in mentioned and ("err-code", word) not in allow:
            f, _, ln = where.rpartition(":")
            problems.add(f, int(ln), "the server answers ERR %s, which the docs never mention (as `ERR %s …` or in "
                         "an error-code table)" % (word, word))


# ------------------------------------------------------------------------------------------------ 6. MSI properties

def check_msi(docs, code, allow, problems):
    if not code.msi_properties:
        return
    text = "\n".join("\n".join(d.lines) for d in docs)
    for doc in docs:
        for hi, header, rows in doc.tables():
            if not header or plain(header[0]).lower() not in ("property", "msi property", "public property"):
                continue
            for ri, cells in rows:
                m = re.fullmatch(r"`?([A-Z][A-Z0-9_]*)`?", cells[0].strip()) if cells else None
                if not m:
                    continue
                prop = m.group(1)
                problems.stats["MSI properties"] = problems.stats.get("MSI properties", 0) + 1
                if prop not in code.msi_properties:
                    problems.add(doc.path, ri + 1, "MSI property %s is not a public property of installer/pipehost.wxs"
                                 " or cmake/service.wxs.in" % prop)
                    continue
                named = [n for n in re.findall(r"`([A-Za-z][A-Za-z0-9]*)`", " ".join(cells[1:2]))
                         if n in code.config]
                want = code.msi_sets.get(prop)
                if named and want and want not in named:
                    problems.add(doc.path, ri + 1, "MSI property %s sets %s (its --set-unless-empty in the .wxs), "
                                 "not %s" % (prop, want, ", ".join(named)))
    for prop, where in sorted(code.msi_properties.items()):
        if not re.search(r"\b%s\b" % prop, text) and ("msi-property", prop) not in allow:
            f, _, ln = where.rpartition(":")
            problems.add(f, int(ln), "public MSI property %s is never mentioned in the docs" % prop)


# ------------------------------------------------------------------------------------------------ 7. Event Log ids

def check_events(docs, code, allow, problems):
    if not code.events:
        return
    seen = set()
    tables = 0
    for doc in docs:
        for hi, header, rows in doc.tables():
            if not header or plain(header[0]).lower() not in ("id", "event id", "event", "event log id"):
                continue
            tables += 1
            level_col = next((k for k, h in enumerate(header) if plain(h).lower() in ("type", "level", "severity")),
                             None)
            for ri, cells in rows:
                m = re.fullmatch(r"`?(\d+)`?", plain(cells[0])) if cells else None
                if not m:
                    continue
                num = int(m.group(1))
                seen.add(num)
                problems.stats["event ids"] = problems.stats.get("event ids", 0) + 1
                if num not in code.events:
                    problems.add(doc.path, ri + 1, "Event Log id %d is not a MessageId of service/messages.mc" % num)
                    continue
                if level_col is not None and level_col < len(cells):
                    level = plain(cells[level_col]).lower()
                    if level and not level.startswith(code.events[num][0][:4]):
                        problems.add(doc.path, ri + 1, "Event Log id %d is %s in service/messages.mc (%s), not %s"
                                     % (num, code.events[num][0], code.events[num][1], level))
    if tables == 0:
        problems.add("service/messages.mc", 1, "no Event Log id table in the docs (a table headed | id | type | ... |)")
        return
    for num, (word, where) in sorted(code.events.items()):
        if num not in seen and ("event-id", str(num)) not in allow:
            f, _, ln = where.rpartition(":")
            problems.add(f, int(ln), "Event Log id %d (%s) is in no Event Log id table of the docs" % (num, word))


# ------------------------------------------------------------------------------------------------ 8. answer keys

def check_answer_keys(docs, code, allow, problems):
    spans = []
    for doc in docs:
        spans.extend(span for _, span in doc.spans)
        for i, line in enumerate(doc.lines):
            if doc.fence[i]:
                spans.append(line)
    text = "\n".join(spans)
    for key, where in sorted(code.answer_keys.items()):
        problems.stats["answer keys"] = problems.stats.get("answer keys", 0) + 1
        if re.search(r"(?:^|\\n|[^A-Za-z0-9_])%s(?:=|$|[^A-Za-z0-9_])" % re.escape(key), text, re.M) is None \
                and ("answer-key", key) not in allow:
            f, _, ln = where.rpartition(":")
            problems.add(f, int(ln), "the built-in verbs answer %s=..., which the docs never name (as `%s` or "
                         "`%s=...`)" % (key, key, key))


# ------------------------------------------------------------------------------------------------ 9. config.h

def check_config_header(root, code, problems):
    """service/config.h's enum comments (`SVC_V_X, /* Name --option DWORD min..max ... */`) against config.c."""
    path = os.path.join(root, "service", "config.h")
    if not os.path.isfile(path):
        return
    by_id = {info["id"]: (name, info) for name, info in code.config.items() if info.get("id")}
    text = read(path)
    pat = re.compile(r"^\s*(SVC_V_\w+)\b[^/\n]*/\*\s*(\w+)\s+(--[a-z0-9-]+)\s+(DWORD|string)\b(?:\s+(\d+)\.\.(\d+))?",
                     re.M)
    for m in pat.finditer(text):
        vid, name, option, typ, lo, hi = m.groups()
        ln = line_of(text, m.start())
        if vid not in by_id:
            problems.add(path, ln, "%s is no row of service/config.c's value table" % vid)
            continue
        cname, info = by_id[vid]
        problems.stats["config.h comments"] = problems.stats.get("config.h comments", 0) + 1
        said = []
        if name != cname:
            said.append("the name %s, not %s" % (cname, name))
        if option != info["option"]:
            said.append("the option %s, not %s" % (info["option"], option))
        if typ.upper() != info["type"]:
            said.append("the type %s, not %s" % (info["type"], typ))
        if lo is not None and info["type"] == "DWORD" and (int(lo), int(hi)) != (info["min"], info["max"]):
            said.append("the range %s..%s, not %s..%s" % (info["min"], info["max"], lo, hi))
        if said:
            problems.add(path, ln, "the comment of %s disagrees with service/config.c (%s), which has %s"
                         % (vid, info["where"], "; ".join(said)))


# ------------------------------------------------------------------------------------------------ main

def load_allow(path):
    allow = set()
    if path and os.path.isfile(path):
        for line in read(path).split("\n"):
            line = line.split("#", 1)[0].strip()
            if line:
                kind, _, name = line.partition(" ")
                allow.add((kind, name.strip()))
    return allow


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--allow", default=None, help="allow-list (default: ROOT/scripts/docs_check.allow)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    root = os.path.abspath(args.root)
    allow = load_allow(args.allow or os.path.join(root, "scripts", "docs_check.allow"))
    try:
        code = Code(root)
    except CodeUnreadable as e:
        print("docs_check: cannot read the code: %s" % e, file=sys.stderr)
        return 2
    paths = find_docs(root)
    if not paths:
        print("docs_check: no documentation found under %s" % root, file=sys.stderr)
        return 2
    docs = [Doc(root, p) for p in paths]
    docs_by_path = {d.path: d for d in docs}
    problems = Problems(root)
    for d in docs:
        check_links(d, docs_by_path, root, problems)
    check_config(docs, code, allow, problems)
    check_options(docs, code, allow, problems)
    check_exit_codes(docs, code, allow, problems)
    check_err_codes(docs, code, allow, problems)
    check_msi(docs, code, allow, problems)
    check_events(docs, code, allow, problems)
    check_answer_keys(docs, code, allow, problems)
    check_config_header(root, code, problems)
    if args.verbose:
        print("docs_check: %d files: %s" % (len(docs), ", ".join(d.rel for d in docs)))
        print("docs_check: %d configuration values, %d pipehost.exe options, %d options in all, exit codes %s"
              % (len(code.config), len(code.pipehost_options), len(code.options),
                 {g: sorted(c) for g, c in code.exit_codes.items()}))
    if args.verbose:
        print("docs_check: checked %s" % ", ".join("%d %s" % (v, k) for k, v in problems.stats.items()))
    n = problems.report()
    if n:
        print("docs_check: %d mismatch(es) between the docs and the code (scripts/docs_check.py explains each "
              "check)" % n, file=sys.stderr)
        return 1
    print("docs_check: %d files: links, anchors, configuration values, options, exit and error codes, MSI properties, "
          "Event Log ids and answer keys agree with the code" % len(docs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
