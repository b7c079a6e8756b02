#!/usr/bin/env python3
"""The project's one reader of KTAP, the kernel's test result format
(Documentation/dev-tools/ktap.rst), which every check here prints: the
guest suite (sample-tests), the host checks, the exercises, KUnit, and
`make test` as a whole.

    ktap.py count LOG [--kernel] [--suite NAME] [--subtest NAME]
                      [--indent N] [--counts FILE] [--require 'CASE...']

reads the first KTAP document in LOG and prints it again (the lines that
are KTAP, nothing else the log mixes in), N spaces further in and, with
--subtest, named NAME: as a subtest of the caller's own document. FILE
gets the counts, for the caller's totals and breakdown; the total is its
last line, so a file without it is one the reader did not finish:

    counts NAME P F S    per top-level test (NAME: its first word): its
                         leaf cases passed, failed and skipped
    total P F S          all leaf cases

With --require, each CASE must have run, not skipped, in every subtest
of the document (the suite has one per device): one failure each where
it did not.

It fails closed: a document passes only if it shows, result by result,
that its tests ran and passed. A leaf's "# SKIP" is a skip, never a pass.
Each of these counts one failure more, besides the cases that failed:

  - a document with no results (nothing after its version line, or an
    empty plan, "1..0"); a subtest with none whose own result says SKIP
    counts as one skip instead
  - fewer results than its plan (the output stopped), or more (a result
    past the plan may be a failure: it is counted, and so is the excess)
  - a result whose number is not its place (1, 2, 3 in each document)
  - a plan line after the document's first result, or a second one
  - a subtest with no result line of its own (its program stopped), or
    whose result names another test than its "# Subtest:" line
  - a subtest that says "not ok" while none of its cases failed (its
    program crashed, say)
  - a document whose every case was skipped: nothing passed
  - a LOG with no KTAP at all.

The document ends at the next version line at its own depth (another
document) or at the end of LOG; lines that are not KTAP (a program's
stray output, the kernel's messages) are passed over, as KTAP says.

--kernel reads the kernel's own lines (KUnit: "[    1.234567] KTAP ..."),
with their timestamps taken off; without it those lines are not KTAP and
are passed over. --suite NAME reads only the test NAME, at any depth, in
the first document that has it (KUnit prints a document each time a
module with tests loads).

Exits 0 when nothing failed, 1 when something did, 2 without KTAP.

    ktap.py kunit LOG --tree TREE --counts FILE [--kernel] [--suite NAME]

runs the kernel's own parser, TREE/tools/testing/kunit/kunit.py parse, on
the lines that count reads (kunit.py takes the first document of what it
is given) and writes its verdict to FILE, machine-readable from its JSON
report: "kunit STATUS PASSED FAILED CRASHED SKIPPED ERRORS" (STATUS: its
exit status), or "kunit STATUS none" without a report. Exits 0 if kunit.py
passed the log: exit 0, and no failure, crash or error.

    ktap.py selftest CORPUS [--tree TREE] [--reader READER]

checks the reader against CORPUS (tests/ktap/): small logs, broken on
purpose or good, whose verdict and counts CORPUS/index gives. With TREE,
kunit.py parse reads each log too, and every log it finds wrong must be a
failure here as well (this reader may be stricter). --reader checks
another ktap.py (an older one, to see the corpus catch it). Prints KTAP,
one result per log; exits 0 only when every one passed.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

KERNEL_PREFIX = re.compile(r"^\[ *[0-9]+\.[0-9]+\] ?")
VERSION = re.compile(r"^(\s*)(KTAP version 1|TAP version 1[34])$")
# A skip-all plan ("1..0 # SKIP why") is a plan too.
PLAN = re.compile(r"^1\.\.([0-9]+)(?:\s*#.*)?$")
RESULT = re.compile(r"^(ok|not ok) ([0-9]+)(?: -)? ?([^#]*?)\s*(?:#\s*(.*))?$")
SUBTEST = re.compile(r"^# Subtest:\s*(.*?)\s*$")
KUNIT_PY = "tools/testing/kunit/kunit.py"


class Test:
    """A test: a leaf case, or, with a document of its own (a version line,
    a plan, results), a parent of the tests in it."""

    def __init__(self, name=""):
        self.name = name
        self.ok = True  # its result line says "ok" (or it has none yet)
        self.directive = ""  # what follows '#' on that line
        self.document = False  # it has a document of its own
        self.indent = 0  # that document's depth
        self.plan = None  # N, from its "1..N"
        self.place = 0  # its place in its parent's document: 1, 2, ...
        self.children = []
        self.problems = []  # why it fails besides its cases: one failure each

    @property
    def skipped(self):
        return self.directive.upper().startswith("SKIP")

    def counts(self):
        """(passed, failed, skipped) over the leaves, with the problems."""
        p = f = s = 0
        if not self.document:
            if self.skipped:
                s = 1
            elif self.ok:
                p = 1
            else:
                f = 1
        else:
            for child in self.children:
                cp, cf, cs = child.counts()
                p, f, s = p + cp, f + cf, s + cs
            if not self.children and self.skipped:
                s = 1  # a subtest skipped whole (check() allows no other)
        f += len(self.problems)
        if not self.ok and not self.skipped and f == 0:
            f += 1
        return p, f, s


def indent_of(line):
    return len(line) - len(line.lstrip())


def lines_of(path, kernel):
    """The lines that may be KTAP: the kernel's or the programs'."""
    with open(path, encoding="utf-8", errors="replace") as log:
        for raw in log:
            line = raw.rstrip("\r\n").replace("\r", "")
            m = KERNEL_PREFIX.match(line)
            if kernel and m:
                yield line[m.end():]
            elif not kernel and not m:
                yield line


def parse(lines, start=0):
    """The first KTAP document in lines[start:], as (root, begin, end, kept):
    root a Test whose children are the document's top-level tests (None if
    there is no document), lines[begin:end] the document, kept its lines
    that are KTAP (to print it again)."""
    begin = next((i for i in range(start, len(lines)) if VERSION.match(lines[i])), None)
    if begin is None:
        return None, len(lines), len(lines), []
    root = Test()
    root.document, root.indent = True, indent_of(lines[begin])
    stack = [root]  # the documents open, the innermost last
    kept = [lines[begin]]
    end = begin + 1
    while end < len(lines):
        line = lines[end]
        text, indent = line.strip(), indent_of(line)
        if VERSION.match(line) and indent <= root.indent:
            break  # the next document starts here; it is not this one's
        end += 1
        if not text:
            continue
        top = stack[-1]
        header = SUBTEST.match(text)
        if header and indent == top.indent and not top.name and not top.children and top.plan is None:
            top.name = header.group(1)  # the line after a version line
            kept.append(line)
        elif VERSION.match(line) or (header and indent > top.indent):
            # A subtest (kunit.py also takes a "# Subtest:" line alone):
            # its document nests in the innermost one less deep. Those as
            # deep or deeper ended without their result line.
            while len(stack) > 1 and stack[-1].indent >= indent:
                unfinished(stack.pop())
            parent, child = stack[-1], Test(header.group(1) if header else "")
            child.document, child.indent = True, indent
            parent.children.append(child)
            child.place = len(parent.children)
            stack.append(child)
            kept.append(line)
        elif RESULT.match(text):
            # A result less deep than the innermost subtest ends it: it is
            # the subtest's own result (any deeper ones open ended without
            # theirs).
            closed = None
            while len(stack) > 1 and indent < stack[-1].indent:
                if closed is not None:
                    unfinished(closed)
                closed = stack.pop()
            top = stack[-1]
            if indent != top.indent:
                # At no open document's depth: not KTAP.
                if closed is not None:
                    unfinished(closed)
                continue
            result(top, closed, RESULT.match(text))
            kept.append(line)
        elif indent != top.indent:
            continue  # not KTAP: stray output closes nothing
        elif PLAN.match(text):
            if top.plan is None and not top.children:
                top.plan = int(PLAN.match(text).group(1))
            else:
                top.problems.append(f"a plan line out of place: '{text}'")
            kept.append(line)
        elif text.startswith("#"):
            kept.append(line)
    # Subtests still open at the end (their program stopped or crashed).
    while len(stack) > 1:
        unfinished(stack.pop())
    check(root, is_root=True)
    return root, begin, end, kept


def unfinished(test):
    test.problems.append("no result line of its own: its output stopped")


def result(document, subtest, match):
    """A result line of document: the result of subtest (just ended), else
    of a new leaf case."""
    word, number, name, directive = match.groups()
    name = name.strip()
    test = subtest
    if test is None:
        test = Test()
        document.children.append(test)
        test.place = len(document.children)
    if test.name and name and name != test.name:
        test.problems.append(f"its result line names '{name}'")
    test.name = test.name or name
    test.ok = word == "ok"
    test.directive = directive or ""
    if int(number) != test.place:
        document.problems.append(f"result {number} ({name}) is number {test.place} in its document")


def check(test, is_root=False, deep=True):
    """Adds the problems that show once a document has ended: no results,
    fewer or more than its plan, or (the document read) nothing passed."""
    if deep:
        for child in test.children:
            if child.document:
                check(child)
    results = len(test.children)
    if results == 0:
        # A subtest that says SKIP is a skip; the document read, never.
        if test.plan:
            test.problems.append(f"no results of the {test.plan} its plan announced: its output stopped")
        elif is_root or not test.skipped:
            test.problems.append("no results" + (" (an empty plan, 1..0)" if test.plan == 0 else ""))
    elif test.plan is not None and results < test.plan:
        test.problems.append(f"{results} results of the {test.plan} its plan announced: its output stopped")
    elif test.plan is not None and results > test.plan:
        test.problems.append(f"{results} results, more than the {test.plan} its plan announced")
    if is_root and results and test.counts()[:2] == (0, 0):
        test.problems.append("every case skipped: nothing passed")


def find(test, name):
    """The test called name: a child of test, or deeper."""
    for child in test.children:
        if child.name == name:
            return child
    for child in test.children:
        found = find(child, name)
        if found:
            return found
    return None


def read(log, kernel=False, suite=None):
    """What count reads in log: (lines, begin, root, kept), lines those that
    may be KTAP, the document from lines[begin] on (with suite: the first
    that has a test of that name, root then holding only that test); root
    is None without one."""
    lines = list(lines_of(log, kernel))
    start = 0
    while True:
        root, begin, end, kept = parse(lines, start)
        if root is None or not suite:
            return lines, begin, root, kept
        test = find(root, suite)
        if test is not None:
            root = Test()
            root.document, root.children = True, [test]
            check(root, is_root=True, deep=False)
            return lines, begin, root, kept
        start = end


def count(log, kernel=False, suite=None):
    """(lines, root) of the first document in log (with suite: the first
    that has a test of that name); root is None without one. With suite,
    root holds only that test."""
    _, _, root, kept = read(log, kernel, suite)
    return kept, root


def first_failure(test, path=""):
    """The name of the first leaf that failed (with its parents), or of the
    first test that failed without a failed leaf; "" if none did."""
    for child in test.children:
        name = f"{path}{child.name}"
        found = first_failure(child, name + "/")
        if found:
            return found
        if child.counts()[1]:
            return name
    return ""


def all_problems(test, path=""):
    """(where, what) of each problem in test and below it."""
    for problem in test.problems:
        yield path, problem
    for child in test.children:
        yield from all_problems(child, f"{path}/{child.name}" if path else child.name)


def write_rows(path, rows):
    """All of the rows, or none: written aside, then renamed into place."""
    aside = f"{path}.partial"
    with open(aside, "w") as out:
        out.write("".join(row + "\n" for row in rows))
    os.replace(aside, path)


def require(root, names):
    """Each of names must have run, not skipped, in every subtest of root
    (one per device): a case missing or skipped there is a problem, one
    failure each; the skip itself still counts as a skip."""
    for child in root.children:
        if not child.document:
            continue
        leaves = {}
        stack = list(child.children)
        while stack:
            test = stack.pop()
            stack.extend(test.children)
            if not test.document:
                leaves.setdefault((test.name.split() or [""])[0], test)
        for name in names:
            leaf = leaves.get(name)
            if leaf is None:
                child.problems.append(f"the required case {name} did not run")
            elif leaf.skipped:
                child.problems.append(f"the required case {name} was skipped ({leaf.directive})")


def count_main(args):
    lines, root = count(args.log, args.kernel, args.suite)
    if root is not None and args.require:
        require(root, args.require.split())
    pad = " " * args.indent
    # The document again: from its version line on, at the new depth.
    base = indent_of(lines[0]) if lines else 0
    for i, line in enumerate(lines):
        print(pad + line[base:])
        if i == 0 and args.subtest:
            print(f"{pad}# Subtest: {args.subtest}")
    rows = []
    if root is None:
        what = f"no test '{args.suite}'" if args.suite and lines else "no KTAP"
        print(f"{pad}# {what} in {args.log}")
        rows.append("total 0 1 0")
    else:
        for where, what in all_problems(root):
            print(f"{pad}# ktap.py: {where or 'the document'}: {what}")
        for child in root.children:
            rows.append("counts %s %d %d %d" % ((child.name.split() or ["?"])[0], *child.counts()))
        rows.append("total %d %d %d" % root.counts())
    if args.counts:
        write_rows(args.counts, rows)
    if root is None:
        return 2
    return 0 if root.counts()[1] == 0 else 1


def kunit_verdict(log, tree, kernel=False, suite=None):
    """kunit.py parse's verdict on the lines that count reads in log:
    (exit status, (passed, failed, crashed, skipped, errors) or None if it
    wrote no report). kunit.py has no --kernel or --suite, and reads the
    first document it finds: it is given the same kernel or program lines,
    from the version line of the document that count reads."""
    lines, begin, _, _ = read(log, kernel, suite)
    with tempfile.TemporaryDirectory() as tmp:
        given, report = Path(tmp, "log"), Path(tmp, "kunit.json")
        given.write_text("".join(line + "\n" for line in lines[begin:]))
        status = subprocess.run([sys.executable, str(Path(tree, KUNIT_PY)), "parse", f"--json={report}", str(given)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        try:
            misc = json.loads(report.read_text())["misc"]
            return status, tuple(int(misc[k]) for k in ("passed", "failed", "crashed", "skipped", "errors"))
        except (OSError, ValueError, KeyError, TypeError):
            return status, None  # it stopped before its report


def kunit_bad(status, counts):
    """kunit.py found the log wrong: a failure, a crash or an error."""
    return status != 0 or counts is None or any(counts[i] for i in (1, 2, 4))


def kunit_main(args):
    status, counts = kunit_verdict(args.log, args.tree, args.kernel, args.suite)
    write_rows(args.counts, [f"kunit {status} " + (" ".join(map(str, counts)) if counts else "none")])
    return 1 if kunit_bad(status, counts) else 0


VERDICTS = {"pass": 0, "fail": 1, "no-ktap": 2}  # the index's words: count's exit status


def load_index(path):
    """The index's rows: (log, verdict, (passed, failed, skipped), options)."""
    rows = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            fields = shlex.split(line)
            if len(fields) < 5 or not all(n.isdigit() for n in fields[2:5]):
                sys.exit(f"ktap.py selftest: {path}: not LOG VERDICT P F S [OPTIONS]: {line}")
            log, verdict, p, f, s, *options = fields
            rows.append((log, verdict, (int(p), int(f), int(s)), options))
    return rows


def run_reader(reader, log, options):
    """count of another (or this) reader, as a program: (exit status, total)
    with total None if it left no complete counts."""
    with tempfile.TemporaryDirectory() as tmp:
        counts = Path(tmp, "counts")
        status = subprocess.run([sys.executable, str(reader), "count", str(log), "--counts", str(counts), *options],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        rows = counts.read_text().splitlines() if counts.exists() else []
    last = rows[-1].split() if rows else []
    if len(last) == 4 and last[0] == "total" and all(n.isdigit() for n in last[1:]):
        return status, tuple(int(n) for n in last[1:])
    return status, None


def describe(status, total):
    word = {v: k for k, v in VERDICTS.items()}.get(status, "broken")
    counts = "%d passed, %d failed, %d skipped" % total if total else "no counts"
    return f"{word} (exit {status}; {counts})"


def selftest_main(args):
    corpus = Path(args.corpus)
    reader = Path(args.reader or __file__)
    rows = load_index(corpus / "index")
    kunit_py = Path(args.tree, KUNIT_PY) if args.tree else None
    compare = kunit_py is not None and kunit_py.exists()
    print("KTAP version 1")
    print(f"1..{len(rows) + 2}")
    failed = 0
    for number, (log, verdict, want, options) in enumerate(rows, 1):
        name = " ".join([log, *options])
        why = []
        # The index itself: a "pass" with a failure (or with no pass), or a
        # "fail" without one, would make a fail-open reader look right.
        if verdict not in VERDICTS or (want[1] == 0) != (verdict == "pass") or (verdict == "pass" and want[0] == 0):
            why.append(f"the index's row contradicts itself: {verdict} {want}")
        path = corpus / log
        status, total = run_reader(reader, path, options) if path.exists() else (None, None)
        ours = describe(status, total) if status is not None else "no such log"
        if (status, total) != (VERDICTS.get(verdict), want):
            why.append(f"ours: {ours}, want {describe(VERDICTS.get(verdict, -1), want)}")
        line = f"# {name}: ours {ours}"
        if compare and path.exists():
            suite = options[options.index("--suite") + 1] if "--suite" in options else None
            k_status, k_counts = kunit_verdict(path, args.tree, "--kernel" in options, suite)
            k_bad = kunit_bad(k_status, k_counts)
            k_counts = ("%d passed, %d failed, %d crashed, %d skipped, %d errors" % k_counts) if k_counts else "no report"
            line += f"; kunit.py {'fail' if k_bad else 'pass'} (exit {k_status}; {k_counts})"
            if k_bad and status == 0:
                why.append("kunit.py finds it wrong, ours passes it")
        print(line)
        for reason in why:
            print(f"# {name}: {reason}")
        print(f"{'not ok' if why else 'ok'} {number} {name}")
        failed += bool(why)
    # The corpus as a whole: every log has its row (a case left out is not
    # a case that passed), and there are good and broken ones.
    listed = {row[0] for row in rows}
    unlisted = sorted(p.name for p in corpus.iterdir() if p.name != "index" and p.name not in listed)
    whole = not unlisted and {"pass", "fail"} <= {row[1] for row in rows}
    if unlisted:
        print(f"# not in the index: {' '.join(unlisted)}")
    print(f"{'ok' if whole else 'not ok'} {len(rows) + 1} the index lists every log, good ones and broken ones")
    # The kernel's parser, when asked for: missing, it is a failure.
    if kunit_py is None:
        print(f"ok {len(rows) + 2} kunit.py compared # SKIP no kernel tree given (--tree)")
    else:
        print(f"{'ok' if compare else 'not ok'} {len(rows) + 2} kunit.py compared: {kunit_py}")
    failed += (not whole) + (kunit_py is not None and not compare)
    skipped = int(kunit_py is None)
    print(f"# {len(rows) + 2 - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = p.add_subparsers(dest="command", required=True)
    c = commands.add_parser("count")
    c.add_argument("log")
    c.add_argument("--kernel", action="store_true")
    c.add_argument("--suite")
    c.add_argument("--subtest")
    c.add_argument("--indent", type=int, default=0)
    c.add_argument("--counts")
    c.add_argument("--require", default="", help="cases that must run, not skip, in each subtest")
    k = commands.add_parser("kunit")
    k.add_argument("log")
    k.add_argument("--tree", required=True)
    k.add_argument("--counts", required=True)
    k.add_argument("--kernel", action="store_true")
    k.add_argument("--suite")
    t = commands.add_parser("selftest")
    t.add_argument("corpus")
    t.add_argument("--tree")
    t.add_argument("--reader")
    args = p.parse_args()
    return {"count": count_main, "kunit": kunit_main, "selftest": selftest_main}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
