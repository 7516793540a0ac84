"""Running `policyconf` (or a Python harness) in a subprocess of its own, as a user or a CI job
runs it: its exit status, stdout, stderr, its peak memory, and a hard timeout.

Used by the tests of hostile text, flat memory and lost workers. stdout and stderr go to files
(a pipe would need draining while the process runs); the peak RSS is the process's own, from
`os.wait4` (RUSAGE_CHILDREN would be the largest child of the whole test session), and it
includes the largest of the processes it waited for (its batch workers).
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
            process = subprocess.Popen(argv, stdin=source, stdout=out, stderr=err, start_new_session=True,
                                       env=None if env is None else {**os.environ, **env})
            while True:
                pid, wait_status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() - start > timeout:
                    os.killpg(process.pid, signal.SIGKILL)
                    os.wait4(process.pid, 0)
                    process.returncode = -9                 # reaped here, not by Popen
                    pytest.fail(f"{' '.join(map(str, argv))[:300]} ran longer than {timeout} s "
                                f"(stderr: {(folder / 'err').read_text(errors='replace')[-1000:]})")
                time.sleep(0.01)
            process.returncode = os.waitstatus_to_exitcode(wait_status)
            seconds = time.monotonic() - start
        stderr = (folder / "err").read_text(encoding="utf-8", errors="replace")
        if process.returncode < 0:
            pytest.fail(f"killed by {signal.Signals(-process.returncode).name}; stderr: {stderr[-1500:]}")
        assert "Traceback" not in stderr, "crashed:\n" + stderr[:1500] + "\n...\n" + stderr[-1500:]
        output = b"" if stdout else (folder / "out").read_bytes()
        return Finished(process.returncode, output, stderr, usage.ru_maxrss * 1024, seconds)


def evaluate(*args: str, stdin: bytes | str | os.PathLike | None = None, fmt: str = "jsonl",
             timeout: float = 30, stdout: os.PathLike | None = None) -> Finished:
    """`policyconf evaluate --products <fixtures> --format FMT ARGS...` in a subprocess."""
    return run([str(SCRIPT), "evaluate", "--products", str(PRODUCTS), "--format", fmt, *args], stdin=stdin,
               timeout=timeout, stdout=stdout)
