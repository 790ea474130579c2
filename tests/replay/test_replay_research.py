"""`research generate` / `research complete` against a server that replays the 12B model's real
generations (training records of the fixtures), asserting the values a user sees and the request
bodies the server received."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.store import RunStore
from support.replay import RESEARCHER, conversation, fenced, references_file, section, title_of

STOP = ["\\clearpage", "\\clear", "clearpage"]
GRAMMAR_KEYS = {"grammar", "structured_outputs", "guided_grammar", "ebnf"}


def cli(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def generate(replay, refs, out, *extra):
    result = cli(
        "research", "generate", refs, "--engine", "openai", "--base-url", replay.url,
        "--model", RESEARCHER, "--no-pdf", "-o", out, *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def papers_in(run):
    return {p.parent.name: json.loads(p.read_text()) for p in sorted((run / "papers").glob("*/paper.json"))}


@pytest.mark.parametrize("record", [1, 5])
def test_generate_parses_the_replayed_12b_paper(replay, fixtures_dir, tmp_path, record):
    msgs = conversation(fixtures_dir, record)
    turn3, turn4, turn5 = (msgs[i]["content"] for i in (2, 3, 4))
    refs = references_file(fixtures_dir, record, tmp_path)
    result = generate(replay, refs, tmp_path / "run")

    # the request a real server gets: upstream sampling, the exact prompt, no grammar
    [req] = replay.chats("research")
    body = req.body
    assert req.replayed == ("research", record)
    assert body["model"] == RESEARCHER
    assert body["max_tokens"] == 19000  # upstream, not the stand-in's 1,024 or the web's 256
    assert (body["temperature"], body["top_p"], body["n"]) == (0.4, 0.95, 1)
    assert body["stop"] == STOP and body["ignore_eos"] is True
    assert not GRAMMAR_KEYS & set(body), "released models get no grammar by default"
    assert body["messages"][0] == msgs[0]  # the system prompt byte for byte
    instruction = msgs[1]["content"][len(refs.read_text()) :]
    # the block as the user gave it, the blank line of FORMATS.md, the instruction
    assert body["messages"][1] == {"role": "user", "content": refs.read_text() + "\n\n" + instruction}
    assert [r.path for r in replay.requests if r.method == "GET"] == ["/v1/models"]

    [(pid, paper)] = papers_in(tmp_path / "run").items()
    title = title_of(fenced(turn3, "latex"))
    assert paper["title"] == title and title[:40] in result.output  # the summary table cuts at 60
    assert paper["motivation"] == section(turn3, "Motivation")
    assert paper["idea"] == section(turn3, "Main Idea")
    assert (paper["interestingness"], paper["feasibility"], paper["novelty"]) == tuple(
        int(section(turn3, h)) for h in ("Interestingness", "Feasibility", "Novelty")
    )
    setup = json.loads(fenced(turn3, "json"))
    assert paper["Experimental_Setup"] == setup
    results = paper["Experimental_results"]
    written = re.findall(r'"name": "([^"]*)"', fenced(turn4, "json"))
    assert [r["name"] for r in results] == written
    assert paper["results_simulated"] is True
    assert paper["generated_text"] == turn3 + turn4 + turn5
    assert fenced(turn5, "latex")[:200] in paper["latex"]
    assert paper["meta"]["engine"]["model"] == RESEARCHER
    assert not [w for w in paper["warnings"] if w.startswith("engine:")]  # no ignore_eos complaint
    assert "SIMULATED" in result.output

    # the exports: Markdown tables of the simulated results, plots in the LaTeX project
    md = (tmp_path / "run" / "papers" / pid / "paper.md").read_text()
    assert md.startswith(f"# {title}\n") and "Results simulated by the model, not measured" in md
    assert "## Experimental results (simulated)" in md
    first_table = next(r["result"]["table"] for r in results if r.get("result", {}).get("table"))
    assert "| " + " | ".join(first_table[0]) + " |" in md
    assert "| " + " | ".join(first_table[1]) + " |" in md
    latex = tmp_path / "run" / "papers" / pid / "latex"
    main = (latex / "main.tex").read_text()
    assert "\\toprule" in main and first_table[1][1] in main
    figures = sorted((latex / "figures").glob("*.png"))
    assert figures and all(f.stat().st_size > 5000 for f in figures)
    assert all(f"figures/{f.name}" in md for f in figures)


def test_two_stage_then_complete_with_the_records_real_results(replay, fixtures_dir, tmp_path):
    msgs = conversation(fixtures_dir, 1)
    turn3, turn4, turn5 = (msgs[i]["content"] for i in (2, 3, 4))
    refs = references_file(fixtures_dir, 1, tmp_path)
    run = tmp_path / "run"
    generate(replay, refs, run, "--two-stage")

    [req] = replay.chats("research")
    # stage 1 stops where the model would write the results itself; EOS is not ignored
    assert req.body["stop"] == [*STOP, "## Experimental_results"] and "ignore_eos" not in req.body
    assert req.body["max_tokens"] == 19000
    [(pid, stage1)] = papers_in(run).items()
    assert stage1["generated_text"] == turn3  # the server cut the generation at the stop string
    assert stage1["meta"]["stage"] == "awaiting_results"
    assert stage1["Experimental_results"] is None and stage1["results_simulated"] is False
    assert stage1["Experimental_Setup"] == json.loads(fenced(turn3, "json"))
    assert not (run / "papers" / pid / "latex").exists()

    # the record's real results, as the JSON file a user writes (LaTeX kept as written)
    results = tmp_path / "results.json"
    results.write_text(fenced(turn4, "json"), encoding="utf-8")
    done = cli(
        "research", "complete", run, "--results", results, "--engine", "openai",
        "--base-url", replay.url, "--model", RESEARCHER, "--no-pdf",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "REAL results you supplied" in done.output

    [turn] = replay.chats("research-turn5")
    chat = turn.body["messages"]
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "user"]
    assert chat[0] == msgs[0] and chat[2]["content"] == turn3.rstrip()
    assert chat[3]["content"] == turn4  # turn 4 rebuilt from the user's file byte for byte
    assert turn.body["max_tokens"] == 19000 and turn.body["stop"] == STOP
    assert "ignore_eos" not in turn.body

    paper = papers_in(run)[pid]
    assert paper["results_simulated"] is False and paper["meta"]["stage"] == "complete"
    assert paper["Experimental_results"][0]["name"] == "Multimodal Sarcasm Detection (MSD)"
    table = paper["Experimental_results"][0]["result"]["table"]
    assert table[0] == ["Method", "Acc.", "P", "R", "F1"]
    assert table[-1] == ["CofiPara-\\textsc{Msd}", "85.70", "85.96", "85.55", "85.89"]
    assert fenced(turn5, "latex")[:300] in paper["latex"]
    assert isinstance(paper["ungrounded_numbers"], list)
    md = (run / "papers" / pid / "paper.md").read_text()
    assert "## Experimental results\n" in md and "not measured" not in md
    assert "| CofiPara-\\textsc{Msd} | 85.70 | 85.96 | 85.55 | 85.89 |" in md
    main = (run / "papers" / pid / "latex" / "main.tex").read_text()
    assert "85.89" in main and "\\section{Experiments}" in main
    assert sorted((run / "papers" / pid / "latex" / "figures").glob("*.png"))


def test_complete_as_printed_reuses_the_runs_server_and_model(replay, fixtures_dir, tmp_path):
    """The "Next:" line names no engine: `complete` takes the run's server and model (it once went
    to the Hugging Face hub for 52 s and exited 3), and its summary counts its own tokens only."""
    msgs = conversation(fixtures_dir, 1)
    run = tmp_path / "run"
    first = generate(replay, references_file(fixtures_dir, 1, tmp_path), run, "--two-stage")
    assert f"research complete {run} --results" in first.output.replace("\n", "")
    results = tmp_path / "results.json"
    results.write_text(fenced(msgs[3]["content"], "json"), encoding="utf-8")
    done = cli("research", "complete", run, "--results", results, "--no-pdf")  # exactly as printed
    assert done.exit_code == 0, done.output
    [turn] = replay.chats("research-turn5")
    assert turn.body["model"] == RESEARCHER
    with RunStore(run, create=False) as store:
        stats = store.summary()
    stage1_tokens, turn5_tokens = (stats[k]["completion_tokens"] for k in ("research", "complete"))
    assert stage1_tokens > 0 and turn5_tokens > 0
    assert f"+ {turn5_tokens} generated tokens" in done.output


def test_n_samples_are_separate_seeded_requests(replay, fixtures_dir, tmp_path):
    refs = references_file(fixtures_dir, 4, tmp_path)
    generate(replay, refs, tmp_path / "run", "-n", "2", "--seed", "7")
    bodies = [r.body for r in replay.chats("research")]
    # an HTTP server gets one request per sample (each stored as it finishes), seeds 7 and 8
    assert sorted(b["seed"] for b in bodies) == [7, 8] and {b["n"] for b in bodies} == {1}
    papers = papers_in(tmp_path / "run")
    assert len(papers) == 2
    title = title_of(fenced(conversation(fixtures_dir, 4)[2]["content"], "latex"))
    assert {p["title"] for p in papers.values()} == {title}


def test_a_prompt_the_model_never_saw_fails_the_command(replay, fixtures_dir, tmp_path):
    """The replay is exact: a prompt that differs from the record is refused, and the CLI says so."""
    refs = references_file(fixtures_dir, 1, tmp_path)
    refs.write_text(refs.read_text().replace("Abstract: ", "Abstract: In short, ", 1))
    result = cli(
        "research", "generate", refs, "--engine", "openai", "--base-url", replay.url,
        "--model", RESEARCHER, "--no-pdf", "-o", tmp_path / "run",
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "matches no training record" in result.output
    assert not (tmp_path / "run" / "papers").exists()


def test_constrained_request_carries_the_grammar_where_the_server_reads_it(replay, fixtures_dir, tmp_path):
    """--constrain on a served model: the GBNF goes in the field the server family reads (vLLM
    serve >= 0.10: structured_outputs.grammar) and EOS is no longer ignored (the grammar ends it)."""
    refs = references_file(fixtures_dir, 1, tmp_path)
    generate(replay, refs, tmp_path / "run", "--constrain", "--engine-opt", "grammar_field=structured_outputs")
    [req] = replay.chats("research")
    grammar = req.body["structured_outputs"]["grammar"]
    assert isinstance(grammar, str) and "root" in grammar and "## Motivation" in grammar
    assert not {"grammar", "guided_grammar", "ebnf"} & set(req.body) and "ignore_eos" not in req.body
    assert req.body["max_tokens"] == 19000
    [paper] = papers_in(tmp_path / "run").values()
    assert paper["title"] == title_of(fenced(conversation(fixtures_dir, 1)[2]["content"], "latex"))
