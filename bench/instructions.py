"""Instructions per return request created, counted by valgrind (callgrind): a figure that does
not move with the machine's load, for comparing two versions of the code.

The shared 2-core machines here change speed by up to 2x within minutes (bench/README.md,
"Returns"), which hides a 5 % improvement in any timed figure. This counts the CPU
instructions one no-reason create executes in-process (Django's test client, one handler, the
same session and body as ``bench/returns.py``; PostgreSQL's own work is not in it), which is
the same from one run to the next to within 0.1 %.

It needs the database ``bench/returns.py`` leaves behind (run that first, or give
``--database-url``) and valgrind (``apt-get install valgrind``). Each run uses lines no request
was made for yet, so it can be repeated until the bench's 30,000 signed lines are used up.

    .venv/bin/python bench/instructions.py            # 30 creates measured after 12 warm-up
    .venv/bin/python bench/instructions.py --creates 100

Prints ``instructions per create: N``. Exit 0, 1 on a failed create, 2 when valgrind is missing.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/aftersales_bench_returns"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    p.add_argument("--creates", type=int, default=30, help="creates counted")
    p.add_argument("--warmup", type=int, default=12, help="creates before counting starts")
    p.add_argument("--child", help=argparse.SUPPRESS)  # the process valgrind runs
    return p.parse_args(argv)


def child(args):
    """Under valgrind: warm up, tell the parent, wait for it to switch counting on, create."""
    sys.path.insert(0, REPO)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ["DATABASE_URL"] = args.database_url
    import django

    django.setup()
    from bench import returns as bench_returns

    items, run = bench_returns.unused_signed_creator(args.warmup + args.creates)
    run(items[: args.warmup])
    control = args.child
    open(os.path.join(control, "ready"), "w").close()
    while not os.path.exists(os.path.join(control, "go")):
        time.sleep(0.05)
    run(items[args.warmup :])
    open(os.path.join(control, "done"), "w").close()
    while os.path.exists(os.path.join(control, "go")):
        time.sleep(0.05)


def _wait_for(path, proc):
    while not os.path.exists(path):
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return True


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return child(args)
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("valgrind is not installed (apt-get install valgrind)")
        return 2
    control = tempfile.mkdtemp(prefix="bench-instructions-")
    try:
        return _measure(args, control)
    finally:
        shutil.rmtree(control, ignore_errors=True)


def _measure(args, control):
    out = os.path.join(control, "callgrind.out")
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        os.path.abspath(__file__),
        "--database-url",
        args.database_url,
        "--creates",
        str(args.creates),
        "--warmup",
        str(args.warmup),
        "--child",
        control,
    ]
    log_path = os.path.join(control, "valgrind.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            if not _wait_for(os.path.join(control, "ready"), proc):
                return _failed(log_path, "the process under valgrind stopped before its creates")
            if not _callgrind(proc, "on"):
                return _failed(log_path, "callgrind_control could not switch counting on")
            open(os.path.join(control, "go"), "w").close()
            if not _wait_for(os.path.join(control, "done"), proc):
                return _failed(log_path, "a create failed")
            if not _callgrind(proc, "off"):
                return _failed(log_path, "callgrind_control could not switch counting off")
            os.remove(os.path.join(control, "go"))
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
    total = 0
    for name in os.listdir(control):
        if name.startswith("callgrind.out"):
            with open(os.path.join(control, name)) as fh:
                # "totals:" (at the end) is the count; "summary:" is 0 when counting was off
                # at the start.
                counts = [
                    int(line.split()[1]) for line in fh if line.startswith(("summary:", "totals:"))
                ]
            total += max(counts, default=0)
    if total == 0:
        return _failed(log_path, "callgrind counted nothing")
    print(f"instructions per create: {total // args.creates:,} ({args.creates} creates)")
    return 0


def _callgrind(proc, state):
    done = subprocess.run(
        ["callgrind_control", "-i", state, str(proc.pid)], capture_output=True, text=True
    )
    return done.returncode == 0


def _failed(log_path, what):
    with open(log_path, errors="replace") as fh:
        print(fh.read()[-3000:])
    print(f"error: {what}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
