"""The model session (``models.session``): one engine, model kind, constrain resolution, grammar
cache and embedded profile for the researcher and both reviewers; model names meet their family
there, not in the engines."""

from __future__ import annotations

import pytest

from cycleresearcher.models.embedded import EMBEDDED
from cycleresearcher.models.session import ModelSession, create_engine
from support.fake_engine import FakeEngine


class Untrained(FakeEngine):
    def __init__(self, **kw):  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.model_id = "some-other-model"
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_constrain_resolves_by_model_kind_with_a_run_override():
    released = ModelSession(None, "researcher", FakeEngine())  # its id names a released family
    assert released.model_kind == "released" and not released.constrained()
    assert released.constrained(True) and not released.grammar_optional(True)
    other = ModelSession(None, "researcher", Untrained())
    assert other.model_kind == "untrained" and other.constrained() and other.grammar_optional()
    off = ModelSession(None, "researcher", Untrained(), constrain=False)
    assert not off.constrained() and off.constrained(True) and off.grammar("researcher") == (None, None)


def test_one_grammar_fit_per_structure_and_budget(monkeypatch):
    import cycleresearcher.prompts.grammars as grammars

    calls = []
    real = grammars.fitted_grammar
    monkeypatch.setattr(grammars, "fitted_grammar", lambda *a: calls.append(a[:5]) or real(*a))
    session = ModelSession(None, "cyclereviewer", Untrained())
    first = session.grammar("cyclereviewer", 3000)
    assert first[0] and session.grammar("cyclereviewer", 3000) is first
    session.grammar("cyclereviewer", 2000)
    assert [c[2:5] for c in calls] == [("cyclereviewer", None, 3000), ("cyclereviewer", None, 2000)]


def test_the_embedded_profile_is_known_without_loading_the_model():
    embedded = ModelSession("embedded", "researcher", "llamacpp")
    assert embedded.is_embedded and embedded.profile is EMBEDDED and embedded.loaded is None
    assert embedded.repetition() == (EMBEDDED.repeat_penalty, EMBEDDED.repeat_window)
    assert embedded.repetition(1.0, 64) == (1.0, 64)  # the run's own setting wins
    released = ModelSession("12B", "researcher", "vllm")
    assert released.profile is None and released.repetition() == (1.0, 64)


def test_the_researcher_and_reviewers_read_one_profile():
    from cycleresearcher import CycleReviewer
    from cycleresearcher.research import EMBEDDED_CONSTRAINED_MAX_TOKENS, CycleResearcher, ResearchSettings

    rev = CycleReviewer(model="embedded", engine="llamacpp")
    assert rev.sampling.max_tokens == EMBEDDED.review_max_tokens and rev.input_cut == EMBEDDED.review_input_tokens
    assert EMBEDDED.paper_constrained_max_tokens == EMBEDDED_CONSTRAINED_MAX_TOKENS
    researcher = CycleResearcher(model="embedded", engine=Untrained(model="embedded"))
    assert researcher.session.profile is None  # a given engine is judged by what it has loaded
    sampling = researcher._sampling(ResearchSettings(max_tokens=64, constrain=False))
    assert (sampling.repeat_penalty, sampling.repeat_last_n) == (1.0, 64)


def test_a_given_engine_is_its_owners_to_close():
    given = Untrained()
    ModelSession(None, "researcher", given).close()
    assert not given.closed
    from cycleresearcher.research import CycleResearcher

    researcher = CycleResearcher(engine=given)
    researcher.close()
    assert not given.closed


def test_aliases_and_served_models_are_resolved_for_the_family(monkeypatch):
    import cycleresearcher.engines as engines

    loaded = []

    class Served(FakeEngine):
        def served_models(self) -> list[str]:
            return ["WestlakeNLP/CycleResearcher-ML-12B", "WestlakeNLP/CycleReviewer-ML-Llama3.1-8B"]

    def fake_load(name, model=None, **kw):  # type: ignore[no-untyped-def]
        loaded.append((name, model))
        engine = Served()
        engine.model_id = model or "first-listed"
        return engine

    monkeypatch.setattr(engines, "load_engine", fake_load)
    create_engine("8B", "hf", family="cyclereviewer")
    assert loaded[-1] == ("hf", "WestlakeNLP/CycleReviewer-ML-Llama3.1-8B")
    served = create_engine(None, None, "http://127.0.0.1:9/v1", family="cyclereviewer")
    assert served.model_id == "WestlakeNLP/CycleReviewer-ML-Llama3.1-8B"  # not the first listed
    assert ModelSession(None, "deepreviewer", None, "http://127.0.0.1:9/v1").engine.model_id == "first-listed"
    assert engines.create_engine is create_engine  # the old import path still works


def test_a_size_the_family_lacks_is_refused_before_any_network(monkeypatch, tmp_path):
    """``999B`` or a reviewer's size given to the researcher is a typo: refused at once, naming
    the family's sizes, instead of being tried as a hub id (50 s of retries offline); a server's
    model may still be called so, and a local folder of that name is still a path."""
    import cycleresearcher.engines as engines
    from cycleresearcher.errors import ModelNotFoundError
    from cycleresearcher.models import resolve_model

    def no_load(name, model=None, **kw):  # type: ignore[no-untyped-def]
        raise AssertionError(f"{name} engine loaded for {model}")

    monkeypatch.setattr(engines, "load_engine", no_load)
    with pytest.raises(ModelNotFoundError, match=r"'999B' is not a size of CycleResearcher: use 12B, 72B, 123B"):
        create_engine("999B", "hf")
    with pytest.raises(ModelNotFoundError, match=r"'12b' is not a size of CycleReviewer: use 8B, 70B, 123B"):
        create_engine("12b", "hf", family="cyclereviewer")
    assert resolve_model("8B", "researcher", served=True) == "8B"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "7B").mkdir()
    assert resolve_model("7B", "researcher") == "7B"


@pytest.mark.parametrize("family", ["cyclereviewer", "deepreviewer"])
def test_reviewers_keep_their_attributes_through_the_session(family):
    from cycleresearcher import CycleReviewer, DeepReviewer

    cls = CycleReviewer if family == "cyclereviewer" else DeepReviewer
    engine = Untrained()
    rev = cls(engine=engine, constrain=True)
    assert rev.engine is engine and rev.constrain is True and rev.session.family == family
    rev.constrain = None
    assert rev.session.constrain is None and rev.model_kind == "untrained" and not rev.is_embedded


def test_a_hub_model_not_in_the_cache_is_announced_before_the_fetch(monkeypatch, tmp_path, capsys):
    """With the hub's bars hidden, fetching an uncached model says so first (a long download, or an
    offline machine's minute of retries, is not a silent hang); a local folder is not announced."""
    pytest.importorskip("transformers")
    import huggingface_hub.constants as hub

    from cycleresearcher.errors import ModelNotFoundError
    from cycleresearcher.hfmodels import announce_download, load_causal_lm

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)  # the fetch fails at once, nothing is sent
    with pytest.raises(ModelNotFoundError, match="someone/not-cached"):
        load_causal_lm("someone/not-cached")
    assert "Fetching 'someone/not-cached' from the Hugging Face hub" in capsys.readouterr().err
    assert announce_download(str(tmp_path)) is False and capsys.readouterr().err == ""
