#!/usr/bin/env python3
"""The two drivers read side by side: the check behind that claim.

rust_sample.rs and src/c_sample.c must have the same section banners in
the same order, and in each section define the same sample_* functions,
in the same order, apart from the differences listed in ONLY_IN, each
with its reason. src/ring.rs and src/ring.h must define the ring's
functions in the same order (Rust's methods named as C's without the
ring_ prefix). `make lint` runs it; it prints what differs.
"""
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_lines import TOP, banners  # noqa: E402

# Functions that one driver has and the other cannot, and why.
ONLY_IN = {
    "C": {
        "sample_device_init": "Rust: SampleDevice::new, a method",
        "sample_may_read": "the unlocked wait condition; CondVar checks under the lock",
        "sample_may_write": "the same, for writers",
        "sample_init": "Rust: publish_device and InPlaceModule::init",
        "sample_exit": "Rust: the Drop of the module's fields",
    },
    "R": {},
}
FN = {"C": re.compile(r"^static\s+[\w\s\*]*?\b(sample_\w+)\(", re.M),
      "R": re.compile(r"^\s*(?:pub(?:\(crate\))?\s+)?fn (sample_\w+)", re.M)}


def sections(path):
    lines = (TOP / path).read_text().splitlines()
    marks = banners(lines) + [("", len(lines) + 1)]
    return [(title, "\n".join(lines[start - 1:marks[n + 1][1] - 1]))
            for n, (title, start) in enumerate(marks[:-1])]


def main():
    failed = []
    c, r = sections("src/c_sample.c"), sections("rust_sample.rs")
    if [t for t, _ in c] != [t for t, _ in r]:
        failed.append("the section banners differ:\n  C:    " + " | ".join(t for t, _ in c)
                      + "\n  Rust: " + " | ".join(t for t, _ in r))
    else:
        for (title, c_text), (_, r_text) in zip(c, r):
            names = {}
            for key, text in (("C", c_text), ("R", r_text)):
                found = FN[key].findall(text)
                names[key] = [n for n in dict.fromkeys(found) if n not in ONLY_IN[key]]
            if names["C"] != names["R"]:
                failed.append(f"section '{title}': C defines {names['C']}, Rust {names['R']}")
    ring_c = re.findall(r"^static inline \w+ \*?ring_(\w+)\(", (TOP / "src/ring.h").read_text(), re.M)
    ring_rs = (TOP / "src/ring.rs").read_text().split("#[kunit_tests")[0]
    ring_r = re.findall(r"^    (?:pub\(crate\) )?fn (\w+)\(", ring_rs, re.M)
    ring_r = ["init" if n == "new" else n for n in ring_r]
    # Rust has accessors for what C reads as fields, and Drop for ring_free.
    ring_r = [n for n in ring_r if n not in ("capacity", "len")]
    ring_c = [n for n in ring_c if n != "free"]
    if ring_c != ring_r:
        failed.append(f"the rings differ: ring.h {ring_c}, ring.rs {ring_r}")
    for f in failed:
        print(f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
