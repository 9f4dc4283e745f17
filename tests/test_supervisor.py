"""The `gitfeed run` supervisor with real child processes: restarts what crashes, not what finished."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from gitfeed.supervisor import Child, Supervisor


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_crashed_child_is_restarted_and_a_finished_one_is_not(tmp_path: Path) -> None:
    crashes, finishes = tmp_path / "crashes", tmp_path / "finishes"
    crashing = Child("crashing", python(f"open({str(crashes)!r}, 'a').write('x'); raise SystemExit(3)"))
    finishing = Child("finishing", python(f"open({str(finishes)!r}, 'a').write('x')"))
    sleeper = Child("server", python("import time; time.sleep(60)"))
    supervisor = Supervisor([crashing, finishing, sleeper], stop_timeout=5, backoff_max=0.2)
    threading.Timer(2.5, supervisor.request_stop).start()
    started = time.monotonic()
    assert supervisor.run() == 0
    assert time.monotonic() - started < 8  # the sleeper was stopped, not waited for
    assert len(crashes.read_text()) >= 2 and finishes.read_text() == "x"
    assert sleeper.process is not None and sleeper.process.returncode == -signal.SIGTERM


def test_a_child_that_must_not_restart_ends_the_run_with_its_code() -> None:
    supervisor = Supervisor([Child("once", python("raise SystemExit(7)"), restart=False)], stop_timeout=2)
    assert supervisor.run() == 7


def test_a_child_runs_at_its_lower_priority_in_every_thread(tmp_path: Path) -> None:
    out = tmp_path / "nice"
    code = (
        "import os, threading\n"
        "seen = []\n"
        "t = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))\n"
        "t.start(); t.join()\n"
        f"open({str(out)!r}, 'w').write(f'{{os.nice(0)}} {{seen[0]}}')\n"
    )
    base = os.nice(0)
    supervisor = Supervisor([Child("ingest", python(code), nice=5)], stop_timeout=2)
    threading.Timer(2.0, supervisor.request_stop).start()
    assert supervisor.run() == 0
    assert out.read_text() == f"{min(base + 5, 19)} {min(base + 5, 19)}"
