"""Background jobs (the web page starts them): one worker thread, progress, state in the run store.

Long work (generation, review, detection) runs in ONE worker thread: models are large and one
GPU (or two CPU cores) serves one job at a time; further jobs wait in the queue. Each job's state
is a record of kind ``job`` in its run's store, written at every change, so a page reload (or a
server restart) finds it again. A job that was queued or running when the server stopped is
shown as ``interrupted``; a shell may start it again in its run (the page does so for generate
jobs), where every finished request is reused (the run store skips them). Job records hold no secrets: parameters come from the form, API keys only from the
server's environment.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..engines.base import TokenProgress
from ..errors import CycleResearcherError
from ..progress import Reporter, Snapshot, format_duration, reporting
from ..store import RunStore, run_dirs
from .kinds import RecordKind

log = logging.getLogger("cycleresearcher.web")

JOB_KIND = RecordKind.JOB.value
ACTIVE = ("queued", "running")


@dataclass
class Job:
    id: str
    kind: str  # generate | complete | review | detect
    run: str  # run folder name under the runs dir
    label: str = ""
    state: str = "queued"  # queued | running | done | failed | interrupted
    done: int = 0
    total: int | None = None
    message: str = "waiting for the worker"
    #: generation progress (``progress.Snapshot``): new tokens in this job, the current batch's
    #: rate and time left, and its requests done / total
    tokens: int = 0
    tok_s: float | None = None
    eta_s: float | None = None
    requests_done: int = 0
    requests_total: int | None = None
    #: how far the job is, 0-100, for the bar: papers done, and within a batch its tokens against
    #: the tokens still expected (a one-paper job moves before its paper is done)
    percent: float = 0.0
    error: str | None = None
    #: what the use case warned about (``app.report.Report.warn``), shown on the job's page
    warnings: list[str] = field(default_factory=list)
    result_url: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at

    @property
    def eta_text(self) -> str:
        """The time left as the page shows it (``2m10s``), ``--`` while unknown."""
        return "--" if self.eta_s is None else format_duration(self.eta_s)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["elapsed_s"] = round(self.elapsed_s, 1)
        d["eta_text"] = self.eta_text
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


class JobContext:
    """What a task sees: its run folder, and a way to report progress."""

    def __init__(self, runner: JobRunner, job: Job):
        self._runner = runner
        self.job = job
        self.run_dir = runner.runs_dir / job.run

    def progress(self, done: int | None = None, total: int | None = None, message: str | None = None) -> None:
        if done is not None:
            self.job.done = done
        if total is not None:
            self.job.total = total
        if self.job.total:
            self.job.percent = max(self.job.percent, round(100.0 * self.job.done / self.job.total, 1))
        if message is not None:
            self.job.message = message
        self._runner.save(self.job)

    def advance(self, k: int = 1) -> None:
        self.progress(done=self.job.done + k)

    # -- app.report.Report: how a use case reports to the page --------------------------------
    def step(self, message: str, total: int | None = None) -> None:
        self.progress(total=total, message=message)

    def warn(self, message: str) -> None:
        self.job.warnings.append(message)
        self._runner.save(self.job)

    def tokens(self, label: str) -> JobReporter:
        return JobReporter(self)


def batch_percent(snap: Snapshot) -> float:
    """A batch's share done, 0-99: its tokens against those still expected (its requests done
    while no rate is known yet); 100 is left for the job's end."""
    if snap.tok_s and snap.eta_s is not None:
        left = snap.tok_s * snap.eta_s
        share = snap.tokens / (snap.tokens + left) if snap.tokens + left > 0 else 0.0
    else:
        share = snap.done / snap.total if snap.total else 0.0
    return round(min(99.0, 100.0 * share), 1)


class JobReporter(Reporter):
    """Generation progress into the job record (what ``/api/jobs/<id>`` returns), saved at most
    every ``save_s`` seconds: a token-by-token SQLite write would slow the decode down."""

    def __init__(self, ctx: JobContext, save_s: float = 1.0, clock: Callable[[], float] = time.monotonic):
        super().__init__(clock)
        self.ctx = ctx
        self.save_s = save_s
        self._saved = float("-inf")
        self._before = 0  # tokens of the job's earlier batches

    def _put(self, snap: Snapshot, force: bool = False) -> None:
        job = self.ctx.job
        job.tokens = self._before + snap.tokens
        job.tok_s = None if snap.tok_s is None else round(snap.tok_s, 1)
        job.eta_s = None if snap.eta_s is None else round(snap.eta_s, 1)
        job.requests_done, job.requests_total = snap.done, snap.total
        job.percent = max(
            job.percent, batch_percent(snap), 100.0 * job.done / job.total if job.total else 0.0
        )
        if force or self.clock() - self._saved >= self.save_s:
            self.ctx.progress()
            self._saved = self.clock()

    def started(self, snap: Snapshot) -> None:
        self._put(snap, force=True)

    def changed(self, event: TokenProgress) -> None:
        if self.tracker is not None and (event.done or self.clock() - self._saved >= self.save_s):
            self._put(self.tracker.snapshot(), force=True)

    def finished(self, snap: Snapshot) -> None:
        self._put(replace(snap, eta_s=0.0), force=True)
        self._before += snap.tokens


Task = Callable[[JobContext], str | None]  # returns the URL of the result page


class JobRunner:
    def __init__(self, runs_dir: str | Path):
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, Job] = {}
        #: runs whose store could not be read at start-up: (folder name, why)
        self.broken: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cr-job")
        self._load()

    # -- persistence ------------------------------------------------------------------------------
    def _load(self) -> None:
        """Find the jobs of earlier server runs; unfinished ones were interrupted by the stop."""
        for run in sorted(run_dirs(self.runs_dir)):
            try:
                with RunStore(run, create=False) as store:
                    records = store.items(JOB_KIND)
            except CycleResearcherError as exc:  # a damaged run is skipped (and listed), not fatal
                self.broken.append((run.name, str(exc)))
                continue
            for _, data in records:
                job = Job.from_dict(data)
                if job.state in ACTIVE:
                    job.state = "interrupted"
                    job.message = f"the server stopped while {job.message}"
                    job.eta_s = job.tok_s = None  # nothing is running: no rate, no time left
                    self.save(job)
                self.jobs[job.id] = job

    def save(self, job: Job) -> None:
        with self._lock, RunStore(self.runs_dir / job.run) as store:
            store.put(JOB_KIND, job.id, job.to_dict())

    # -- running ----------------------------------------------------------------------------------
    def submit(
        self, kind: str, run: str, task: Task, *, label: str = "", params: dict[str, Any] | None = None
    ) -> Job:
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, run=run, label=label, params=dict(params or {}))
        self.jobs[job.id] = job
        self.save(job)
        self._pool.submit(self._run, job, task)
        return job

    def _run(self, job: Job, task: Task) -> None:
        ctx = JobContext(self, job)
        job.state, job.started_at, job.message = "running", time.time(), "starting"
        self.save(job)
        try:
            with reporting(JobReporter(ctx)):
                job.result_url = task(ctx)
            job.state, job.message, job.percent = "done", "finished", 100.0
        except CycleResearcherError as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # the page gets one line; the traceback goes to the server log only
            log.exception("job %s (%s) failed", job.id, job.kind)
            job.state = "failed"
            job.error = f"Internal error ({type(exc).__name__}): {exc}. See the server log for details."
        if job.state == "failed":  # where it stopped ("failed · failed" said nothing); no time left
            job.message, job.eta_s, job.tok_s = f"stopped while {job.message}", None, None
        job.finished_at = time.time()
        self.save(job)

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def recent(self, limit: int = 20) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda j: j.created_at, reverse=True)[:limit]

    def for_run(self, run: str) -> list[Job]:
        return [j for j in self.recent(10_000) if j.run == run]

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until a job is finished (tests and scripts)."""
        end = time.time() + timeout
        job = self.jobs[job_id]
        while job.state in ACTIVE and time.time() < end:
            time.sleep(0.05)
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
