"""Running `policyconf` (or a Python harness) in a subprocess of its own, as a user or a CI job
runs it: its exit status, stdout, stderr, its peak memory, and a hard timeout.

Used by the tests of hostile text, flat memory and lost workers. stdout and stderr go to files
(a pipe would need draining while the process runs). The peak RSS is measured by a small Python
process that starts the command and reports its RUSAGE_CHILDREN: not by the test process
itself, because Linux counts in a child's peak the peak of the process it was forked from (the
test session, hundreds of megabytes after a while), and RUSAGE_CHILDREN of the session would be
its largest child so far. It includes the largest of the processes the command waited for (its
batch workers).
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import PRODUCTS

PYTHON = sys.executable
SCRIPT = pathlib.Path(sys.executable).parent / "policyconf"

MEASURED = """
import json, resource, subprocess, sys
status = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as report:
    json.dump({"status": status, "peak_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}, report)
"""


@dataclasses.dataclass
class Finished:
    status: int
    stdout: bytes
    stderr: str
    peak_rss: int            # bytes
    seconds: float

    def json_lines(self) -> list[dict]:
        """stdout of --format jsonl: every line one JSON object, and nothing else."""
        text = self.stdout.decode("utf-8")
        assert text == "" or text.endswith("\n"), text[-200:]
        return [json.loads(line) for line in text.split("\n")[:-1]]


def run(argv: list[str], *, stdin: bytes | str | os.PathLike | None = None, timeout: float = 30,
        env: dict | None = None, stdout: os.PathLike | None = None) -> Finished:
    """Run `argv` to its end (killed, and the test failed, after `timeout` seconds).

    `stdin` is bytes or text, or a path to a file to read it from (a large input need not be in
    memory); with `stdout` (a path) the output is left in that file, not read back.
    """
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        if isinstance(stdin, (bytes, str)):
            (folder / "stdin").write_bytes(stdin.encode() if isinstance(stdin, str) else stdin)
            stdin = folder / "stdin"
        with open(stdin or os.devnull, "rb") as source, open(stdout or folder / "out", "wb") as out, \
                open(folder / "err", "wb") as err:
            start = time.monotonic()
            process = subprocess.Popen([PYTHON, "-c", MEASURED, str(folder / "report"), *map(str, argv)],
                                       stdin=source, stdout=out, stderr=err, start_new_session=True,
                                       env=None if env is None else {**os.environ, **env})
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                pytest.fail(f"{' '.join(map(str, argv))[:300]} ran longer than {timeout} s "
                            f"(stderr: {(folder / 'err').read_text(errors='replace')[-1000:]})")
            seconds = time.monotonic() - start
        stderr = (folder / "err").read_text(encoding="utf-8", errors="replace")
        report = json.loads((folder / "report").read_text())
        if report["status"] < 0:
            pytest.fail(f"killed by {signal.Signals(-report['status']).name}; stderr: {stderr[-1500:]}")
        assert "Traceback" not in stderr, "crashed:\n" + stderr[:1500] + "\n...\n" + stderr[-1500:]
        output = b"" if stdout else (folder / "out").read_bytes()
        return Finished(report["status"], output, stderr, report["peak_rss"], seconds)


def evaluate(*args: str, stdin: bytes | str | os.PathLike | None = None, fmt: str = "jsonl",
             timeout: float = 30, stdout: os.PathLike | None = None) -> Finished:
    """`policyconf evaluate --products <fixtures> --format FMT ARGS...` in a subprocess."""
    return run([str(SCRIPT), "evaluate", "--products", str(PRODUCTS), "--format", fmt, *args], stdin=stdin,
               timeout=timeout, stdout=stdout)
