"""A worker process that dies during a `.jsonl` batch (killed with SIGKILL, or by the OOM killer)
never hangs the batch, and no output line is lost silently, written twice or out of order.

Before the fix the parent waited, with no timeout, on the chunk the dead worker had taken
(multiprocessing.Pool replaces a dead worker but loses its task): the batch hung forever.

The killing is done from the test's side, never by a hook in the engine: a harness (below, run
as the command) wraps `batch.decide_lines` so that a worker deciding a marked line SIGKILLs
itself, every time or only the first time; and one test kills a worker of the real command
from outside with os.kill while it decides.
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import threading
import time

from conftest import EXAMPLES, PRODUCTS
from policyconf import canonical_hash
from processes import PYTHON, SCRIPT, run

GOOD = json.loads((EXAMPLES / "ad-approved-repair.json").read_text(encoding="utf-8"))
KILLER = "KILLS-ITS-WORKER"

HARNESS = '''
import os, signal, sys
from policyconf.engine import batch, cli

marker, once = os.environ["KILL_MARKER"], os.environ.get("KILL_ONCE")
parent = os.getpid()
decide_lines = batch.decide_lines


def dying(book, render, chunk, audit=None):
    """In a worker (never the parent), SIGKILL itself when the chunk holds the marker."""
    if os.getpid() != parent and any(marker in line for _, _, line in chunk):
        if not once or not os.path.exists(once):
            if once:
                open(once, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
    return decide_lines(book, render, chunk, audit)


batch.decide_lines = dying
sys.exit(cli.main(sys.argv[1:]))
'''


def claim_line(claim_id: str) -> str:
    return json.dumps({**GOOD, "claim": {**GOOD["claim"], "id": claim_id}})


def batch_file(tmp_path, count: int, killers: tuple[int, ...] = ()) -> pathlib.Path:
    """`count` approved claims G1..G<count>; the lines numbered in `killers` carry the marker in their id."""
    path = tmp_path / "claims.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for number in range(1, count + 1):
            out.write(claim_line(f"{KILLER}-{number}" if number in killers else f"G{number}") + "\n")
    return path


def run_harness(tmp_path, path, *options: str, once: bool = False, timeout: float = 30):
    harness = tmp_path / "harness.py"
    harness.write_text(HARNESS, encoding="utf-8")
    env = {"KILL_MARKER": KILLER, **({"KILL_ONCE": str(tmp_path / "killed-once")} if once else {})}
    return run([PYTHON, str(harness), "evaluate", "--products", str(PRODUCTS), "--format", "jsonl", "--jobs", "2",
                *options, str(path)], env=env, timeout=timeout)


def assert_in_order(results: list[dict], count: int, lost: dict[int, str]) -> None:
    """Exactly one result per input line, in order: approved, or for a lost line its error object."""
    assert len(results) == count
    for number, result in enumerate(results, 1):
        if number in lost:
            assert result == {"claim_id": None, "error": {
                "code": "batch.worker-lost", "path": None,
                "message": f"{lost[number]}:{number}: the worker process deciding this line died (killed, or out "
                           "of memory), and again when the line was decided on its own"}}, result
        else:
            assert (result.get("claim_id"), result.get("outcome")) == (f"G{number}", "approved"), (number, result)


def test_a_claim_that_kills_its_worker_every_time_loses_only_itself(tmp_path):
    # 5 chunks of 1,000 lines, two workers: the killer is in the third chunk, decided in
    # parallel with others. Its neighbours, in its chunk and the chunks in flight, are decided.
    count, killer = 5_000, 2_345
    path = batch_file(tmp_path, count, killers=(killer,))
    log = tmp_path / "decisions.log"
    finished = run_harness(tmp_path, path, "--log", str(log))
    assert finished.status == 2
    assert_in_order(finished.json_lines(), count, {killer: str(path)})
    assert f"lost, their worker dying again, each with a batch.worker-lost error in its place: {path} line {killer}\n" \
        in finished.stderr
    assert "5,000 claims: 4,999 approved; 0 invalid; 1 lost; payout" in finished.stderr
    # the decision log has a record for every line, in order, the lost one's hashing its text
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [r["claim_id"] for r in records] == [None if n == killer else f"G{n}" for n in range(1, count + 1)]
    assert records[killer - 1]["error"] == "batch.worker-lost"
    assert records[killer - 1]["input_hash"] == canonical_hash(claim_line(f"{KILLER}-{killer}"))


def test_two_killers_and_the_lines_after_them(tmp_path):
    # Two killers in one chunk, and one in the last chunk: each loses only itself.
    count, killers = 3_000, (1_001, 1_002, 3_000)
    path = batch_file(tmp_path, count, killers=killers)
    finished = run_harness(tmp_path, path)
    assert finished.status == 2
    assert_in_order(finished.json_lines(), count, {k: str(path) for k in killers})
    assert f"in its place: {path} lines 1001-1002, 3000\n" in finished.stderr


def test_a_worker_that_dies_once_loses_nothing(tmp_path):
    count, killer = 5_000, 2_345
    path = batch_file(tmp_path, count, killers=(killer,))
    finished = run_harness(tmp_path, path, once=True)
    assert (tmp_path / "killed-once").exists()
    results = finished.json_lines()
    assert len(results) == count
    assert [r["claim_id"] for r in results] == [f"{KILLER}-{n}" if n == killer else f"G{n}" for n in range(1, count + 1)]
    assert all(r["outcome"] == "approved" for r in results)
    assert finished.status == 0
    assert "a worker process died (killed, or out of memory):" in finished.stderr
    assert "were decided again, each on its own in a fresh worker" in finished.stderr


def _children(pid: int) -> list[int]:
    try:
        text = pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def test_a_worker_killed_from_outside_while_deciding(tmp_path):
    # The real command, no harness: a batch large enough to be deciding when one of its two
    # workers is sent SIGKILL from here.
    count = 6_000
    path = batch_file(tmp_path, count)
    killed: list[int] = []

    def kill_a_worker(parent: int) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not killed:
            workers = _children(parent)
            if len(workers) >= 2:
                time.sleep(0.1)                        # deciding by now
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
            time.sleep(0.01)

    out = open(tmp_path / "out", "wb")
    start = time.monotonic()
    process = subprocess.Popen([str(SCRIPT), "evaluate", "--products", str(PRODUCTS), "--format", "jsonl",
                                "--jobs", "2", str(path)], stdout=out, stderr=subprocess.PIPE,
                               start_new_session=True)
    killer = threading.Thread(target=kill_a_worker, args=(process.pid,))
    killer.start()
    try:
        _, stderr = process.communicate(timeout=120)     # about 2 s; a loaded shared machine is slow
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)           # the workers too: they hold stderr open
        process.communicate(timeout=10)
        raise AssertionError("the batch hung after its worker was killed")
    finally:
        killer.join()
        out.close()
    assert killed, f"no worker to kill (the batch ended after {time.monotonic() - start:.1f} s)"
    results = [json.loads(line) for line in (tmp_path / "out").read_text(encoding="utf-8").splitlines()]
    assert [r["claim_id"] for r in results] == [f"G{n}" for n in range(1, count + 1)]
    assert all(r["outcome"] == "approved" for r in results)
    assert process.returncode == 0, stderr.decode()
    assert b"a worker process died" in stderr


def test_workers_end_when_the_batch_is_killed(tmp_path):
    # `timeout 60 policyconf evaluate ...` or an OOM killer SIGKILLs the parent: its forked
    # workers hold the pool's pipes (and the caller's stdout), so they must not wait for ever.
    path = batch_file(tmp_path, 20_000)
    process = subprocess.Popen([str(SCRIPT), "evaluate", "--products", str(PRODUCTS), "--format", "jsonl",
                                "--jobs", "2", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2 and process.poll() is None:
        workers = _children(process.pid)
        time.sleep(0.01)
    assert len(workers) >= 2, "the batch ended before it had two workers"
    os.kill(process.pid, signal.SIGKILL)
    try:
        process.communicate(timeout=30)                  # EOF on stderr: every worker has ended
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError("a worker outlived its killed parent") from None
    for worker in workers:
        assert not pathlib.Path(f"/proc/{worker}").exists() or "zombie" in \
            pathlib.Path(f"/proc/{worker}/status").read_text(), f"worker {worker} still runs"
