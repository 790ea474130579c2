"""Grammar-constrained structure: the grammars, the parsers and the released models' outputs agree,
and every engine maps a grammar to the field its backend reads."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from cycleresearcher.engines.base import SamplingParams
from cycleresearcher.paper import TURN_JOINT, Paper, complete_paper, parse_paper, parse_stage1
from cycleresearcher.prompts import grammars as S
from cycleresearcher.review.parse import parse_review

# the one warning a grammar cannot rule out: DeepReviewer's final scores are means of the
# simulated reviewers' scores, an arithmetic invariant no context-free grammar can force
INVARIANT = "differs from the mean"


def parse(name: str, text: str) -> tuple[object, list[str]]:
    if name == "researcher":
        p = parse_paper(text)
    elif name == "researcher-stage1":
        p = parse_stage1(text)
    elif name == "researcher-turn5":
        p = complete_paper(Paper(), [], text)
    else:
        r = parse_review(text, "cyclereviewer" if name.startswith("cyclereviewer") else "deepreviewer")
        return r, [w for w in r.warnings if INVARIANT not in w]
    return p, p.warnings


def complete(name: str, obj: object) -> bool:
    """Every field the format has was parsed."""
    if name.startswith("researcher"):
        p = obj
        assert isinstance(p, Paper)
        if name == "researcher-turn5":
            return bool(p.results_latex)
        base = bool(
            p.title and p.abstract and p.motivation and p.idea and isinstance(p.experimental_setup, list)
        )
        base &= all(isinstance(getattr(p, k), int) for k in ("interestingness", "feasibility", "novelty"))
        base &= p.latex.count("\\section{") >= 3
        if name == "researcher":
            base &= isinstance(p.experimental_results, list) and bool(p.results_latex)
        return base
    r = obj
    if name == "deepreviewer-best1":
        return len(r.questions) == 3 and bool(r.analysis)
    ratings = [op.rating for op in r.reviewers]
    if name == "deepreviewer-fast":
        return r.final.get("rating") is not None and r.decision is not None
    final = r.meta_review if name.startswith("cyclereviewer") else r.final.get("rating")
    return bool(ratings) and None not in ratings and final is not None and r.decision is not None


@pytest.mark.parametrize(
    "bounds", [S.TINY, S.Bounds(), S.EMBEDDED_BOUNDS], ids=["tiny", "default", "embedded"]
)
@pytest.mark.parametrize("name", S.STRUCTURES)
def test_strings_of_the_grammar_parse_completely(name: str, bounds: S.Bounds) -> None:
    node = S.structure(name, "bounded", bounds)
    for seed in range(8):
        text = S.sample(node, seed, fill=False)  # any character the classes allow
        assert S.matches(node, text), text[:400]
        obj, warnings = parse(name, text)
        assert warnings == [], (seed, warnings, text[:600])
        assert complete(name, obj), text[:600]


def test_reviewer_count_is_forced() -> None:
    node = S.structure("cyclereviewer", "bounded", S.Bounds(reviewers=3))
    r, _ = parse("cyclereviewer", S.sample(node, 1))
    assert len(r.reviewers) == 3


def test_a_text_missing_a_header_is_rejected() -> None:
    node = S.structure("deepreviewer-fast", "bounded", S.TINY)
    text = S.sample(node, 0)
    assert S.matches(node, text)
    assert not S.matches(node, text.replace("## Decision:", "## Verdict:"))
    assert not S.matches(node, text.replace("## Rating:\n\n", "## Rating:\n\n11"))


@pytest.mark.parametrize("profile", ["bounded", "open"])
@pytest.mark.parametrize("name", S.STRUCTURES)
def test_llama_cpp_parses_every_grammar(name: str, profile: str, embedded_gguf: str) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    llm = _vocab(llama_cpp, embedded_gguf)
    gbnf = S.grammar_for(name, profile)  # type: ignore[arg-type]
    probe = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, gbnf.encode(), b"root")
    assert probe, gbnf[:2000]
    llama_cpp.llama_sampler_free(probe)


_VOCAB: dict[str, object] = {}


def _vocab(llama_cpp, path: str):  # type: ignore[no-untyped-def]
    if path not in _VOCAB:
        _VOCAB[path] = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    return _VOCAB[path]


# --------------------------------------------------------------------------- released models


def test_released_researcher_outputs_match_the_open_grammar(fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    files = sorted((fixtures_dir / "research").glob("conversation_*.json"))
    assert files
    for f in files:
        m = json.loads(f.read_text())["messages"]
        full = TURN_JOINT.join([m[2]["content"], m[3]["content"], m[4]["content"]])
        assert S.matches(S.structure("researcher", "open"), full), f.name
        assert S.matches(S.structure("researcher-stage1", "open"), m[2]["content"]), f.name
        assert S.matches(S.structure("researcher-turn5", "open"), m[4]["content"]), f.name
        # and the bounded profile is a real constraint: a released paper is outside it
        assert not S.matches(S.structure("researcher", "bounded"), full)


@pytest.mark.parametrize(
    "pattern,name",
    [
        ("deepreviewer_fast_0*.txt", "deepreviewer-fast"),
        ("deepreviewer_standard_0*.txt", "deepreviewer-standard"),
        ("deepreviewer_best_step1_0*.txt", "deepreviewer-best1"),
        ("deepreviewer_best_00?.txt", "deepreviewer-best2"),
    ],
)
def test_released_deepreviewer_outputs_match_the_open_grammar(fixtures_dir, pattern: str, name: str) -> None:  # type: ignore[no-untyped-def]
    files = sorted((fixtures_dir / "deepreviewer").glob(pattern))
    assert files
    for f in files:
        assert S.matches(S.structure(name, "open"), f.read_text(encoding="utf-8")), f.name


def test_cyclereviewer_format_fixtures_match_the_open_grammar(data_dir) -> None:  # type: ignore[no-untyped-def]
    # no raw CycleReviewer output is public: our own fixtures in its two formats stand in
    for stem, name in (("cyclereviewer_a_full", "cyclereviewer"), ("cyclereviewer_a_rating10", "cyclereviewer"),
                       ("cyclereviewer_b_full", "cyclereviewer-b")):  # fmt: skip
        text = (data_dir / "review" / f"{stem}.txt").read_text(encoding="utf-8")
        assert S.matches(S.structure(name, "open"), text), stem
    truncated = (data_dir / "review" / "cyclereviewer_a_truncated.txt").read_text(encoding="utf-8")
    assert not S.matches(S.structure("cyclereviewer", "open"), truncated)


# --------------------------------------------------------------------------- defaults


def test_constrain_defaults() -> None:
    assert S.resolve_constrain(None, "embedded") is True
    assert S.resolve_constrain(None, "untrained") is True  # any model with no trained format
    assert S.resolve_constrain(None, "released") is False  # opt-in: they follow their format
    assert S.resolve_constrain(True, "released") is True and S.resolve_constrain(False, "untrained") is False
    assert S.grammar_if(None, "released", "researcher") is None
    assert S.grammar_if(True, "released", "researcher") == S.grammar_for("researcher", "open")
    assert S.grammar_if(None, "embedded", "researcher") == S.grammar_for(
        "researcher", "bounded", S.EMBEDDED_BOUNDS
    )
    assert S.grammar_if(None, "untrained", "researcher") == S.grammar_for("researcher", "bounded", S.Bounds())
    assert S.grammar_if(False, "embedded", "researcher") is None


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        (None, "embedded"), ("embedded", "embedded"),
        ("12B", "released"), ("8b", "released"), ("WestlakeNLP/CycleResearcher-ML-12B", "released"),
        ("/models/cyclereviewer-ml-llama3.1-8b.Q4_K_M.gguf", "released"), ("deepreviewer-14b", "released"),
        ("qwen2.5:0.5b", "untrained"), ("/models/Llama-3.2-1B-Instruct", "untrained"), ("gpt-4o-mini", "untrained"),
    ],
)  # fmt: skip
def test_model_kind_tells_released_checkpoints_from_the_rest(model: str | None, kind: str) -> None:
    from cycleresearcher.models import model_kind

    assert model_kind(model) == kind


def test_research_and_reviewers_put_the_grammar_in_the_request() -> None:
    from cycleresearcher.research import CycleResearcher, ResearchSettings
    from cycleresearcher.review.deepreviewer import DeepReviewer
    from support.fake_engine import FakeEngine

    fake = FakeEngine()
    researcher = CycleResearcher(engine=fake)
    assert researcher._sampling(ResearchSettings()).grammar is None  # a released model: off
    sp = researcher._sampling(ResearchSettings(constrain=True))
    assert sp.grammar == S.grammar_for("researcher", "open") and not sp.ignore_eos
    assert researcher._sampling(ResearchSettings(constrain=True), stage1=True).grammar == S.grammar_for(
        "researcher-stage1", "open"
    )
    dr = DeepReviewer(engine=fake, constrain=True)
    assert dr.grammar(1, mode="fast") == S.grammar_for("deepreviewer-fast", "open")
    assert dr.grammar(2, mode="best") == S.grammar_for("deepreviewer-best2", "open")
    assert DeepReviewer(engine=fake).grammar(1, mode="fast") is None
    # a model with no trained format (a served small model) is constrained by default, bounded
    other = FakeEngine()
    other.model_id = "qwen2.5:0.5b"
    sp = CycleResearcher(engine=other)._sampling(ResearchSettings())
    assert sp.grammar == S.grammar_for("researcher", "bounded", S.Bounds()) and sp.grammar_optional
    assert not CycleResearcher(engine=other)._sampling(ResearchSettings(constrain=True)).grammar_optional
    assert DeepReviewer(engine=other).grammar(1, mode="fast") == S.grammar_for(
        "deepreviewer-fast", "bounded", S.Bounds()
    )
    assert DeepReviewer(engine=other, constrain=False).grammar(1, mode="fast") is None


# --------------------------------------------------------------------------- engines


GBNF = 'root ::= "ok"\n'


@pytest.mark.parametrize(
    "field,expected",
    [
        ("grammar", {"grammar": GBNF}),
        ("structured_outputs", {"structured_outputs": {"grammar": GBNF}}),
        ("guided_grammar", {"guided_grammar": GBNF}),
        ("ebnf", {"ebnf": GBNF}),
    ],
)
def test_openai_payload_carries_the_grammar(field: str, expected: dict) -> None:
    from cycleresearcher.engines.openai_wire import build_payload

    body = build_payload(
        [{"role": "user", "content": "x"}], SamplingParams(grammar=GBNF), "m", grammar_field=field
    )
    for key, value in expected.items():
        assert body[key] == value
    plain = build_payload([{"role": "user", "content": "x"}], SamplingParams(), "m", grammar_field=field)
    assert not set(expected) & set(plain)


def test_openai_without_a_grammar_field_fails_clearly() -> None:
    from cycleresearcher.engines.openai_wire import build_payload
    from cycleresearcher.errors import InputError

    with pytest.raises(InputError, match="--no-constrain"):
        build_payload([], SamplingParams(grammar=GBNF), "m", grammar_field="none")
    with pytest.raises(InputError, match="Unknown grammar_field"):
        build_payload([], SamplingParams(grammar=GBNF), "m", grammar_field="regex")


class _Recorder:
    def __init__(self, **kw: object):
        self.kw = kw


def test_vllm_mapping_new_and_old_api() -> None:
    from cycleresearcher.engines.vllm import to_vllm_sampling

    new = SimpleNamespace(
        SamplingParams=_Recorder, sampling_params=SimpleNamespace(StructuredOutputsParams=_Recorder)
    )
    sp = to_vllm_sampling(new, SamplingParams(grammar=GBNF, repeat_penalty=1.2))
    assert sp.kw["structured_outputs"].kw == {"grammar": GBNF}
    assert sp.kw["repetition_penalty"] == 1.2
    old = SimpleNamespace(
        SamplingParams=_Recorder, sampling_params=SimpleNamespace(GuidedDecodingParams=_Recorder)
    )
    sp = to_vllm_sampling(old, SamplingParams(grammar=GBNF))
    assert sp.kw["guided_decoding"].kw == {"grammar": GBNF} and "structured_outputs" not in sp.kw
    assert "structured_outputs" not in to_vllm_sampling(new, SamplingParams()).kw


def test_vllm_mapping_with_real_vllm() -> None:
    vllm = pytest.importorskip(
        "vllm", reason="[vllm] vLLM cannot be installed on this project's CPU machines"
    )
    from cycleresearcher.engines.vllm import to_vllm_sampling

    sp = to_vllm_sampling(vllm, SamplingParams(grammar=GBNF))
    so = getattr(sp, "structured_outputs", None) or getattr(sp, "guided_decoding", None)
    assert so is not None and so.grammar == GBNF


def test_hf_reads_every_grammar_through_llguidance() -> None:
    pytest.importorskip("llguidance", reason="llguidance (the hf extra) is not installed")
    import llguidance

    from cycleresearcher.engines.hf_grammar import _lark_safe

    # llguidance's GBNF reader refuses the class escapes \- and \^ that llama.cpp reads
    assert _lark_safe(r'a ::= [a\-z\^\\-] "\\"') == r'a ::= [a\x2Dz\x5E\\-] "\\"'
    for bounds in (S.TINY, S.EMBEDDED_BOUNDS, None):  # the small bounds hold x{0,0}, which it refuses
        for name in S.STRUCTURES:
            for profile in ("bounded", "open"):
                gbnf = S.grammar_for(name, profile, bounds)  # type: ignore[arg-type]
                lark = llguidance.grammar_from("gbnf", _lark_safe(gbnf))
                assert llguidance.LLMatcher.validate_grammar(lark) == "", (name, profile, bounds)


# --------------------------------------------------------------------------- real runs


@pytest.fixture(scope="module")
def engine(embedded_gguf: str):  # type: ignore[no-untyped-def]
    from cycleresearcher.engines.llamacpp import LlamaCppEngine

    e = LlamaCppEngine(embedded_gguf, n_ctx=2048)
    yield e
    e.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["deepreviewer-standard", "cyclereviewer", "researcher-turn5"])
def test_embedded_model_writes_the_whole_structure(engine, name: str) -> None:  # type: ignore[no-untyped-def]
    from cycleresearcher.engines.base import ChatRequest

    node = S.structure(name, "bounded", S.TINY)
    sp = SamplingParams(max_tokens=800, seed=3, grammar=S.to_gbnf(node), ignore_eos=True)
    [res] = engine.generate([ChatRequest([{"role": "user", "content": "Review a paper on graphs."}], sp)])
    assert res.ok and res.completions[0].finish_reason == "stop", res.error
    assert S.matches(node, res.text), res.text
    obj, warnings = parse(name, res.text)
    assert complete(name, obj) and warnings == [], warnings


@pytest.mark.slow
def test_embedded_standard_review_fits_a_budget_its_bounds_would_overrun(engine) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from cycleresearcher.prompts.grammars.capacity import EMBEDDED_TOKENS_PER_WORD, capacity
    from cycleresearcher.review.deepreviewer import DeepReviewer

    # the embedded bounds with 2 reviewers: 16 paragraphs of 40 words could take 2,560+ tokens
    # (not TINY: its 8-letter made-up words took 1.6 characters a token, past the fitting's
    # 4 tokens a word; the fitting is a measured bound for the embedded bounds, not a proof)
    bounds, budget = replace(S.EMBEDDED_BOUNDS, reviewers=2), 1024
    cap = capacity(S.structure("deepreviewer-standard", "bounded", bounds))
    assert cap.words is not None and EMBEDDED_TOKENS_PER_WORD * cap.words > budget  # unfitted, it could be cut
    dr = DeepReviewer(engine=engine, constrain=True, grammar_bounds=bounds, max_tokens=budget)
    dr.sampling.seed = 2
    paper = "\\title{Graph pruning}\n\\begin{abstract}We prune graphs before training.\\end{abstract}"
    [review] = dr.review([paper], mode="standard", reviewer_num=2)
    assert not review.truncated, review.warnings
    assert complete("deepreviewer-standard", review), review.raw_text
    assert len(review.reviewers) == 2


@pytest.mark.slow
def test_llama_cpp_server_honours_the_grammar(embedded_gguf: str) -> None:
    from conftest import llama_server_process
    from cycleresearcher.engines.base import ChatRequest
    from cycleresearcher.engines.openai_compat import OpenAIEngine

    node = S.structure("deepreviewer-fast", "bounded", S.TINY)
    with llama_server_process(embedded_gguf) as url:
        eng = OpenAIEngine(base_url=url, grammar_field="grammar", max_retries=0)
        sp = SamplingParams(max_tokens=300, seed=1, grammar=S.to_gbnf(node))
        [res] = eng.generate([ChatRequest([{"role": "user", "content": "Review a paper."}], sp)])
        eng.close()
    assert res.ok, res.error
    assert S.matches(node, res.text), res.text


# --------------------------------------------------------------------------- exports


def _pdf_text(pdf) -> str:  # type: ignore[no-untyped-def]
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed")
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout


def test_raw_output_wraps_inside_the_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cycleresearcher.paper.export import export_latex_project

    long_line = " ".join(f"word{i}" for i in range(200)) + " " + "x" * 300
    paper = parse_paper("no structure at all: " + long_line)
    res = export_latex_project(paper, tmp_path, None)
    if res.pdf is None:
        pytest.skip(f"no TeX here: {res.warnings}")
    text = _pdf_text(res.pdf)
    # every word reached the page: nothing ran off its right edge
    assert "word0" in text and "word199" in text
    assert "x" * 40 in text.replace("\n", "")


def test_a_structured_paper_exports_every_part(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cycleresearcher.paper.export import export_latex_project

    paper = parse_paper(S.sample(S.structure("researcher", "bounded", S.TINY), 5))
    assert paper.warnings == []
    res = export_latex_project(paper, tmp_path, None)
    if res.pdf is None:
        pytest.skip(f"no TeX here: {res.warnings}")
    text = " ".join(_pdf_text(res.pdf).split())
    for part in ("Introduction", "Related Work", "Method", "Experiments", "Results", "Conclusion"):
        assert part in text, part
    assert paper.title.split()[0] in text
