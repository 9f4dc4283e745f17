"""The `gitfeed run` supervisor with real child processes: restarts what crashes, not what finished."""

from __future__ import annotations

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
