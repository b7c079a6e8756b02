#!/usr/bin/env python3
"""The project's one reader of KTAP, the kernel's test result format
(Documentation/dev-tools/ktap.rst), which every check here prints: the
guest suite (sample-tests), the host checks, the exercises, KUnit, and
`make test` as a whole.

    ktap.py count LOG [--kernel] [--suite NAME] [--subtest NAME]
                      [--indent N] [--counts FILE]

reads the first KTAP document in LOG and prints it again (the lines that
are KTAP, nothing else the log mixes in), N spaces further in and, with
--subtest, named NAME: as a subtest of the caller's own document. FILE
gets the counts, for the caller's totals and breakdown:

    counts NAME P F S    per top-level test (NAME: its first word): its
                         leaf cases passed, failed and skipped
    total P F S          all leaf cases

A leaf's "# SKIP" is a skip, never a pass. A subtest that reports fewer
results than its plan, or that says "not ok" while none of its cases
failed (its program crashed, say), counts one failure more, and so does
a LOG with no KTAP at all.

--kernel reads the kernel's own lines (KUnit: "[    1.234567] KTAP ..."),
with their timestamps taken off; without it those lines are not KTAP and
are passed over. --suite NAME reads only the test NAME, at any depth
(KUnit nests each suite in a document of its own).

Exits 0 when nothing failed, 1 when something did, 2 without KTAP.
"""

import argparse
import re
import sys

KERNEL_PREFIX = re.compile(r"^\[ *[0-9]+\.[0-9]+\] ?")
VERSION = re.compile(r"^(\s*)(KTAP version 1|TAP version 1[34])$")
PLAN = re.compile(r"^1\.\.([0-9]+)$")
RESULT = re.compile(r"^(ok|not ok) ([0-9]+)(?: -)? ?([^#]*?)\s*(?:#\s*(.*))?$")


class Test:
    def __init__(self, name="", ok=True, directive=""):
        self.name, self.ok, self.directive = name, ok, directive
        self.children = []
        self.plan = None
        self.problems = []

    @property
    def skipped(self):
        return self.directive.upper().startswith("SKIP")

    def counts(self):
        """(passed, failed, skipped) over the leaves, with the extra failures."""
        if not self.children and self.plan is None:
            if self.skipped:
                return 0, 0, 1
            return (1, 0, 0) if self.ok else (0, 1, 0)
        p = f = s = 0
        for child in self.children:
            cp, cf, cs = child.counts()
            p, f, s = p + cp, f + cf, s + cs
        if self.plan is not None and len(self.children) < self.plan:
            f += 1
        if not self.ok and f == 0:
            f += 1
        return p, f, s


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


def parse(lines):
    """The first KTAP document in lines, as a Test whose children are its
    top-level tests; None if there is none. Prints the document's lines."""
    stack = []  # (indent, Test) of the documents open
    root = None
    for line in lines:
        m = VERSION.match(line)
        if m:
            indent = len(m.group(1))
            if root is None:
                root = Test()
                stack = [(indent, root)]
                yield line
                continue
            if indent > stack[-1][0]:
                stack.append((indent, Test()))
                yield line
                continue
        if root is None:
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        # A result line less indented than the innermost open subtest
        # closes it: it is the subtest's own result, or a later one of the
        # parent's. Until that line comes, the subtest counts as failed.
        # (Other lines out of place, a program's stray output, close
        # nothing.)
        while len(stack) > 1 and indent < stack[-1][0] and RESULT.match(stripped):
            pending = stack.pop()[1]
            pending.ok = False
            stack[-1][1].children.append(pending)
            stack[-1][1].pending = pending
        depth_indent, current = stack[-1]
        if indent != depth_indent or not stripped:
            continue
        if PLAN.match(stripped) and current.plan is None:
            current.plan = int(PLAN.match(stripped).group(1))
            yield line
        elif stripped.startswith("# Subtest:"):
            current.name = stripped[len("# Subtest:"):].strip()
            yield line
        elif stripped.startswith("#"):
            yield line
        else:
            r = RESULT.match(stripped)
            if not r:
                continue
            test = getattr(current, "pending", None)
            current.pending = None
            if test is None:
                test = Test()
                current.children.append(test)
            test.name = r.group(3).strip() or test.name
            test.ok = r.group(1) == "ok"
            test.directive = r.group(4) or ""
            yield line
            if len(stack) == 1 and root.plan is not None and len(root.children) >= root.plan:
                break
    # Subtests still open at the end (their program stopped or crashed):
    # each joins its parent, failed, with the results it had.
    while len(stack) > 1:
        test = stack.pop()[1]
        test.ok = False
        stack[-1][1].children.append(test)
    parse.root = root


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


def count(log, kernel=False, suite=None):
    """(lines, root) of the first document in log (with suite: the first
    that has a test of that name); root is None without one. With suite,
    root holds only that test."""
    source = lines_of(log, kernel)
    while True:
        parse.root = None
        lines = list(parse(source))
        root = parse.root
        if root is None or not suite:
            return lines, root
        test = find(root, suite)
        if test is not None:
            root = Test()
            root.children = [test]
            return lines, root


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


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["count"])
    p.add_argument("log")
    p.add_argument("--kernel", action="store_true")
    p.add_argument("--suite")
    p.add_argument("--subtest")
    p.add_argument("--indent", type=int, default=0)
    p.add_argument("--counts")
    args = p.parse_args()

    lines, root = count(args.log, args.kernel, args.suite)
    pad = " " * args.indent
    # The document again: from its version line on, at the new depth.
    base = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
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
        for child in root.children:
            rows.append("counts %s %d %d %d" % ((child.name.split() or ["?"])[0], *child.counts()))
        rows.append("total %d %d %d" % root.counts())
    if args.counts:
        with open(args.counts, "w") as out:
            out.write("\n".join(rows) + "\n")
    if root is None:
        return 2
    return 0 if root.counts()[1] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
