"""`cycleresearcher train` and the use case it calls (`app.train.train_rounds`) on one config: the
same sampling requests, the same round report, and the lines the CLI prints are the result's
summaries. Training has no web page (a cluster job), so the second shell here is the Python API.
The scripted policy writes the same text k times: every pair is a tie, nothing is trained (no
torch), and both say so (exit 3 from the CLI, ``trained`` False from the use case)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from support import FAKE_ENGINE
from support.shells import cli

DATA = Path(__file__).parents[1] / "data" / "train"


def _config(tmp_path: Path) -> Path:
    policy = tmp_path / "policy"
    policy.mkdir()
    path = tmp_path / "cycle.toml"
    path.write_text(
        f"""
rounds = 1
output_dir = {json.dumps(str(tmp_path / "unused"))}
[policy]
model = {json.dumps(str(policy))}
[data]
references = {json.dumps(str(DATA / "sets"))}
max_sets = 2
[sampling]
k = 2
engine = "{FAKE_ENGINE}"
max_tokens = 16
engine_options = {{ script = "The same paper, every time." }}
[reward]
kind = "function"
function = {json.dumps(str(DATA / "reward_fn.py") + ":vowel_reward")}
[pairing]
require_parse = false
"""
    )
    return path


def _values(text: str) -> list:
    """The JSON values printed one after another (rich indents each over several lines)."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while (i := text.find("{", i)) >= 0:
        value, i = decoder.raw_decode(text, i)
        out.append(value)
    return out


def _sent(run: Path) -> list:
    con = sqlite3.connect(run / "run.sqlite")
    try:
        return [json.loads(p) for (p,) in con.execute("SELECT payload FROM requests ORDER BY key")]
    finally:
        con.close()


def _report(run: Path) -> dict:
    report = json.loads((run / "round_1" / "report.json").read_text())
    report.pop("timings")
    return report


def test_the_cli_and_the_use_case_run_the_same_round(tmp_path):
    from cycleresearcher.app.report import Collect
    from cycleresearcher.app.train import TrainRequest, train_rounds

    config = _config(tmp_path)
    result = cli("train", config, "-o", tmp_path / "cli")
    assert result.exit_code == 3, result.output
    assert "No round had a preference pair" in result.output
    printed = _values(result.stdout)

    report = Collect()
    done = train_rounds(TrainRequest(config, out=str(tmp_path / "api")), report)
    assert not done.trained and done.failed_samples == 0
    assert printed == done.summaries() and len(printed) == 1
    assert any("no pairs to train on" in message for message, _ in report.steps)
    assert _sent(tmp_path / "cli") == _sent(tmp_path / "api") and len(_sent(tmp_path / "api")) == 2
    assert _report(tmp_path / "cli") == _report(tmp_path / "api")
