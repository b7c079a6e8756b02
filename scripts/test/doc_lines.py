#!/usr/bin/env python3
"""Line numbers in the docs, computed from the sources, never typed by hand.

docs/c-to-rust.md and docs/walkthrough.md are the one copy of each. Every
line number in them is followed by the reference it was computed from, in
an HTML comment that Markdown does not show: `57<!--[[C:misc_register(]]-->`.
This script computes each number again and writes it in place. `make docs`
runs it; `make lint` checks that the docs are current (--check), so a
change to a driver that moves a line makes the lint fail until the docs
are regenerated, and a reference whose text is gone or ambiguous is an
error, not a wrong number. A new reference is written with no number in
front: `<!--[[C:misc_register(]]-->`, and `make docs` adds it.

A reference is [[FILE:TEXT]], where FILE is one of the keys of FILES and
TEXT is a piece of one line of that file:

  [[C:TEXT]]           the one line that contains TEXT (an error if there
                       are none or several)
  [[C:TEXT@2]]         the second line that contains TEXT
  [[C:TEXT@*]]         every line that contains TEXT: "12, 40, 71"
  [[C:TEXT~~END]]      a range: from TEXT's line to the first line at or
                       after it that contains END: "12-30"; END written
                       ^END must be the whole line (such as ^} or ^    })
  [[C:§BANNER]]        the section whose banner line is BANNER, from the
                       banner to the line before the next banner: "12-30"
"""
import difflib
import re
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent.parent
FILES = {
    "C": "src/c_sample.c",
    "R": "rust_sample.rs",
    "ring.rs": "src/ring.rs",
    "ring.h": "src/ring.h",
    "H": "src/sample_ioctl.h",
}
DOCS = ["c-to-rust.md", "walkthrough.md"]
# A number (or "12-30", "12, 40, 71") and the reference it came from.
REF = re.compile(r"(?:[0-9]+(?:(?:-|, )[0-9]+)*)?<!--\[\[([A-Za-z.]+):(.+?)\]\]-->")
# A banner: a comment line of dashes, the title, and another line of dashes.
BANNER_RULE = re.compile(r"^\s*(//|/\*|\*)\s*-{20,}\s*$")


def lines_of(key, cache={}):
    if key not in FILES:
        raise ValueError(f"unknown file '{key}' (one of {', '.join(FILES)})")
    if key not in cache:
        cache[key] = (TOP / FILES[key]).read_text().splitlines()
    return cache[key]


def banners(lines):
    """(title, line number) of every section banner, in order."""
    found = []
    for i in range(1, len(lines) - 1):
        if BANNER_RULE.match(lines[i - 1]) and BANNER_RULE.match(lines[i + 1]):
            title = re.sub(r"^\s*(//|\*)\s*", "", lines[i]).strip()
            found.append((title, i))  # i is the title's 0-based index: 1-based rule above
    return found


def resolve(key, text):
    lines = lines_of(key)
    where = FILES[key]
    if text.startswith("§"):
        title = text[1:]
        sections = banners(lines)
        for n, (name, i) in enumerate(sections):
            if name == title:
                # From the banner's first line (1-based i) to the last line
                # that is not blank before the next banner, or the end.
                end = sections[n + 1][1] - 1 if n + 1 < len(sections) else len(lines)
                while end > i and not lines[end - 1].strip():
                    end -= 1
                return f"{i}-{end}"
        raise ValueError(f"{where} has no section '{title}' (it has: {', '.join(t for t, _ in sections)})")
    if "~~" in text:
        start_text, end_text = text.split("~~", 1)
        start = int(resolve(key, start_text))
        exact = end_text.startswith("^")
        for i in range(start - 1, len(lines)):
            if (lines[i].rstrip() == end_text[1:]) if exact else (end_text in lines[i]):
                return f"{start}-{i + 1}"
        raise ValueError(f"{where}: no '{end_text}' at or after line {start}")
    which = None
    if re.search(r"@(\d+|\*)$", text):
        text, which = text.rsplit("@", 1)
    hits = [i + 1 for i, line in enumerate(lines) if text in line]
    if not hits:
        raise ValueError(f"{where} has no line with '{text}'")
    if which == "*":
        return ", ".join(map(str, hits))
    if which is not None:
        if int(which) > len(hits):
            raise ValueError(f"{where} has {len(hits)} lines with '{text}', not {which}")
        return str(hits[int(which) - 1])
    if len(hits) > 1:
        raise ValueError(f"{where} has {len(hits)} lines with '{text}' ({hits}): say which (@N)")
    return str(hits[0])


def render(name):
    """docs/NAME with every number computed again, and the errors."""
    errors = []

    def substitute(match):
        ref = f"<!--[[{match.group(1)}:{match.group(2)}]]-->"
        try:
            return resolve(match.group(1), match.group(2)) + ref
        except ValueError as e:
            errors.append(f"docs/{name}: [[{match.group(1)}:{match.group(2)}]]: {e}")
            return match.group(0)

    return REF.sub(substitute, (TOP / "docs" / name).read_text()), errors


def main():
    check = sys.argv[1:] == ["--check"]
    failed = False
    for name in DOCS:
        text, errors = render(name)
        for e in errors:
            print(e, file=sys.stderr)
        failed |= bool(errors)
        target = TOP / "docs" / name
        if check:
            current = target.read_text() if target.exists() else ""
            if current != text:
                failed = True
                print(f"docs/{name} is out of date: run make docs", file=sys.stderr)
                sys.stderr.writelines(list(difflib.unified_diff(
                    current.splitlines(True), text.splitlines(True),
                    f"docs/{name}", "regenerated", n=0))[:40])
        elif not errors:
            target.write_text(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
