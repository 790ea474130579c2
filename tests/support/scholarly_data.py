"""A made-up bibliography and the loopback services' view of it, for the enrichment tests: one
entry per way of being found (DOI on S2, DOI whose S2 abstract is ``null``, arXiv eprint, DBLP's
CoRR volume, PMID in a note, Crossref only), one by exact title, one title that two works share,
one whose only title match has the wrong year, one nobody knows, one that has its abstract.
Every abstract is placeholder text of ours."""

from __future__ import annotations

from support.scholarly_server import Paper


def text(name: str) -> str:
    return f"Placeholder abstract for {name}: our own words, written for the loopback services."


PAPERS = [
    Paper("Loopback Methods for Sparse Gradients", ["Ana Duarte"], 2020, text("doi-s2"), doi="10.5555/enr.1",
          venue="Journal of Loopback Studies"),
    Paper("Null Abstracts and Where to Find Them", ["Kofi Mensah"], 2018, text("doi-openalex"), doi="10.5555/enr.2",
          abstract_in=("openalex",)),
    Paper("Eprints Without Journals", ["Lena Vogel"], 2022, text("eprint"), arxiv="2203.01234",
          services=("arxiv",)),
    Paper("A Corpus of Repositories", ["Ivan Petrov"], 2019, text("corr"), arxiv="1905.04321",
          doi="10.48550/arxiv.1905.04321", services=("semantic_scholar", "arxiv"), abstract_in=("arxiv",)),
    Paper("Medical Records as Test Data", ["Sara Kim"], 2017, text("pmid"), pmid="28000001", doi="10.5555/enr.5",
          services=("openalex",)),
    Paper("Publishers Deposit Abstracts Sometimes", ["Omar Haddad"], 2016, text("crossref"), doi="10.5555/enr.6",
          services=("crossref",), venue="Transactions on Deposits"),
    Paper("Titles Alone Can Be Enough", ["Nora Bianchi", "Li Wei"], 2021, text("title"), doi="10.5555/enr.7",
          services=("openalex",), venue="Conference on Exact Titles"),
    Paper("Two Works One Title", ["Pedro Alves"], 2020, text("twin one"), doi="10.5555/enr.8a"),
    Paper("Two Works One Title", ["Pedro Alves"], 2021, text("twin two"), doi="10.5555/enr.8b"),
    Paper("A Title From Another Year", ["Eva Novak"], 2012, text("wrong year"), doi="10.5555/enr.9"),
]

BIB = r"""@article{duarte2020loopback,
  title={Loopback Methods for Sparse Gradients},
  author={Duarte, Ana},
  year={2020},
  doi={10.5555/enr.1}
}

@article{mensah2018null,
  title={Null Abstracts and Where to Find Them},
  author={Mensah, Kofi},
  year={2018},
  doi={https://doi.org/10.5555/ENR.2}
}

@misc{vogel2022eprints,
  title={Eprints Without Journals},
  author={Lena Vogel},
  year={2022},
  eprint={2203.01234},
  archivePrefix={arXiv}
}

@article{DBLP:journals/corr/abs-1905-04321,
  author    = {Ivan Petrov},
  title     = {A Corpus of Repositories},
  journal   = {CoRR},
  volume    = {abs/1905.04321},
  year      = {2019}
}

@article{kim2017medical,
  title={Medical Records as Test Data},
  author={Kim, Sara},
  year={2017},
  note={PMID: 28000001}
}

@article{haddad2016publishers,
  title={Publishers Deposit Abstracts Sometimes},
  author={Haddad, Omar},
  year={2016},
  doi={10.5555/enr.6}
}

@inproceedings{bianchi2021titles,
  title={{Titles} Alone Can Be Enough},
  author={Bianchi, Nora and Wei, Li},
  year={2022}
}

@article{alves2020two,
  title={Two Works One Title},
  author={Alves, Pedro},
  year={2020}
}

@article{novak2020title,
  title={A Title From Another Year},
  author={Novak, Eva},
  year={2020}
}

@article{nobody2020,
  title={Nobody Indexed This One},
  author={Nobody, Alice},
  year={2020},
  doi={10.5555/enr.unknown}
}

@article{has2020abstract,
  title={Already Complete},
  author={Done, Dana},
  year={2020},
  abstract={An abstract the user wrote.}
}
"""

#: entry key -> the abstract enrichment must fill (None: must stay unfilled)
EXPECTED = {
    "duarte2020loopback": text("doi-s2"),
    "mensah2018null": text("doi-openalex"),
    "vogel2022eprints": text("eprint"),
    "DBLP:journals/corr/abs-1905-04321": text("corr"),
    "kim2017medical": text("pmid"),
    "haddad2016publishers": text("crossref"),
    "bianchi2021titles": text("title"),
    "alves2020two": None,
    "novak2020title": None,
    "nobody2020": None,
}


def papers() -> list[Paper]:
    """Fresh copies (a server numbers its papers)."""
    import copy

    return copy.deepcopy(PAPERS)
