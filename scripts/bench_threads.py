"""How `continual run` degrades on a shared machine: wall time of one command with N torch threads
(``--threads``), alone and beside a busy job (a loop of torch matmuls with its own threads),
interleaved so every configuration sees the same background load, repeated.

    PYTHONPATH=$PWD python scripts/bench_threads.py --threads 1 2 --repeats 2 \
        -- --strategy finetune --strategy backprop+sleep

Everything after ``--`` goes to ``continual run`` (with ``--quiet --no-report --force`` and a
temporary ``--out``). Prints one Markdown table (median and every repeat's seconds) with the
machine's load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BUSY = (
    "import torch\n"
    "torch.set_num_threads({threads})\n"
    "a = torch.randn(512, 512)\n"
    "while True:\n"
    "    a = torch.tanh(a @ a)\n"
)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def timed_run(threads: int, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "continual", "run", "--quiet", "--no-report", "--force"]
        command += ["--out", out, "--threads", str(threads), *extra]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--busy-threads", type=int, default=2, help="threads of the busy job")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-alone", action="store_true", help="only beside the busy job")
    parser.add_argument("run", nargs=argparse.REMAINDER, help="-- then `continual run` options")
    args = parser.parse_args()
    extra = args.run[1:] if args.run[:1] == ["--"] else args.run
    conditions = [
        (t, busy) for busy in ((True,) if args.no_alone else (False, True)) for t in args.threads
    ]
    times: dict[tuple[int, bool], list[float]] = {c: [] for c in conditions}
    before = uptime()
    for _ in range(args.repeats):
        for threads, busy in conditions:  # interleaved: each repeat visits every condition
            job = None
            if busy:
                code = BUSY.format(threads=args.busy_threads)
                job = subprocess.Popen([sys.executable, "-c", code], env={**os.environ})
                time.sleep(2)  # its imports done, it is spinning
            try:
                times[(threads, busy)].append(timed_run(threads, extra))
            finally:
                if job is not None:
                    job.kill()
                    job.wait()
            print(threads, busy, times[(threads, busy)][-1], file=sys.stderr, flush=True)
    print(f"<!-- before: {before} | after: {uptime()} -->")
    print(f"`continual run --quiet {' '.join(extra)}`, {args.repeats} interleaved repeats\n")
    print(f"| torch threads | beside a {args.busy_threads}-thread busy job | median s | runs (s) |")
    print("| --- | --- | --- | --- |")
    for (threads, busy), found in times.items():
        runs = ", ".join(f"{t:.1f}" for t in found)
        print(
            f"| {threads} | {'yes' if busy else 'no'} | {statistics.median(found):.1f} | {runs} |"
        )


if __name__ == "__main__":
    main()
