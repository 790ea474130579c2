"""The run folder's lock as the use cases take it: re-entrant in one thread (a use case that calls
another on the same run), refused to another thread (a web job beside a request) and to another
process, and taken by ``detect -o`` so two detections never interleave their records."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cycleresearcher.app.detect import DetectRequest, Text, detect
from cycleresearcher.app.report import Collect
from cycleresearcher.app.runfolder import run_lock
from cycleresearcher.app.session import Sessions
from cycleresearcher.errors import RunLockedError
from detect.test_detect_usecase import scripted

HOLD = """
import sys, time
from pathlib import Path
from cycleresearcher.app.runfolder import run_lock
with run_lock(Path(sys.argv[1]), "detect"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_one_thread_may_take_its_own_run_again(tmp_path: Path):
    with run_lock(tmp_path, "research generate"):
        with run_lock(tmp_path, "novelty"):  # a second flock in this process would refuse itself
            pass
        # still held after the inner use case: another thread is refused
        errors: list[BaseException] = []

        def other() -> None:
            try:
                with run_lock(tmp_path, "review"):
                    pass
            except RunLockedError as exc:
                errors.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert len(errors) == 1 and "research generate" in str(errors[0])
    with run_lock(tmp_path, "review"):  # released whole at the outer exit
        pass


def test_detect_into_a_folder_another_process_holds_is_refused_before_scoring(tmp_path: Path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        texts = [Text("a", "a.txt", "machine words " * 5)]
        with pytest.raises(RunLockedError, match=rf"in use by process {holder.pid} \(cycleresearcher detect, started "):
            detect(DetectRequest(texts=texts, output=out), Sessions(detector_factory=scripted), Collect())
        assert not (out / "detections.json").exists()
    finally:
        holder.kill()
        holder.wait()
    result = detect(DetectRequest(texts=[Text("a", "a.txt", "machine words " * 5)], output=out),
                    Sessions(detector_factory=scripted), Collect())  # fmt: skip
    assert (out / "detections.json").is_file() and len(result.records) == 1
