#!/usr/bin/env python3
"""The runner's verdict, as data: scripts/run-qemu.sh --verdict FILE writes
one JSON object, and every program that needs to know how a VM run ended
reads it here, never from the wording of a message:

  verdict       pass, failed (the guest's command exited non-zero),
                kernel-report, timeout, or runner-error (the runner, or
                the guest's set-up, failed: no verdict on the command)
  exit          the runner's exit status (see EXIT)
  guest_status  the guest command's exit status, or null if none came back
  reason        one line for a person
  first_report  the first console line that counted as a kernel report, or null
  guest_setup   true when the runner-error is the guest's set-up failing (a
                module that did not load, a detector that is off), not the
                runner's own
  seconds       the run's wall-clock time

  verdict.py write FILE VERDICT EXIT GUEST_STATUS REASON FIRST_REPORT STARTED [guest-setup]
                (empty GUEST_STATUS or FIRST_REPORT: null; STARTED: the
                run's start, in seconds since the epoch)
  verdict.py get FILE FIELD   print one field; a missing or unreadable file
                reads as a runner-error, so that a reader fails closed
"""
import json
import os
import sys
import time

# The runner's exit status for each verdict: pass and failed pass the
# guest command's own status through.
EXIT = {"kernel-report": 122, "timeout": 124, "runner-error": 125}
VERDICTS = ("pass", "failed", *EXIT)


def read(path):
    """The verdict in PATH; a runner-error if there is none or it is malformed."""
    try:
        with open(path) as f:
            v = json.load(f)
        if (v.get("verdict") not in VERDICTS or not isinstance(v.get("exit"), int)
                or not isinstance(v.get("guest_setup"), bool)):
            raise ValueError(f"not a verdict: {v!r}")
        return v
    except (OSError, ValueError) as e:
        return {"verdict": "runner-error", "exit": EXIT["runner-error"], "guest_status": None,
                "reason": f"no readable verdict in {path}: {e}", "first_report": None, "guest_setup": False,
                "seconds": None}


def main(argv):
    if len(argv) in (9, 10) and argv[1] == "write":
        _, _, path, verdict, code, guest, reason, report, started, *setup = argv
        assert verdict in VERDICTS, verdict
        assert setup in ([], ["guest-setup"]), setup
        v = {"verdict": verdict, "exit": int(code), "guest_status": int(guest) if guest else None,
             "reason": reason, "first_report": report or None, "guest_setup": bool(setup), "seconds": round(time.time() - float(started), 1)}
        with open(path + ".tmp", "w") as f:
            json.dump(v, f)
            f.write("\n")
        os.replace(path + ".tmp", path)
        return 0
    if len(argv) == 4 and argv[1] == "get":
        value = read(argv[2]).get(argv[3])
        print("" if value is None else value)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
