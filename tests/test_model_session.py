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


@pytest.mark.parametrize("family", ["cyclereviewer", "deepreviewer"])
def test_reviewers_keep_their_attributes_through_the_session(family):
    from cycleresearcher import CycleReviewer, DeepReviewer

    cls = CycleReviewer if family == "cyclereviewer" else DeepReviewer
    engine = Untrained()
    rev = cls(engine=engine, constrain=True)
    assert rev.engine is engine and rev.constrain is True and rev.session.family == family
    rev.constrain = None
    assert rev.session.constrain is None and rev.model_kind == "untrained" and not rev.is_embedded
