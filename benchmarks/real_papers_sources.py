"""The real LaTeX paper projects of ``real_papers.py``: where each comes from, and the rebuild.

The files are authors' work under their own licences, so none is committed: this list names the
repository, commit and folder of each, and ``python benchmarks/real_papers_sources.py DIR`` writes
them under ``DIR/<name>/`` from the mirrors the ``fetch`` tool left in ``/work/.mirror`` (``git
archive``; files over 2 MB, e.g. checkpoints beside a paper, are left out).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MIRRORS = Path("/work/.mirror")
MAX_FILE_BYTES = 2_000_000

#: (name, repository, commit, folder in the repository ("" = all), venue / template)
SOURCES: list[tuple[str, str, str, str, str]] = [
    ("datacomp", "sbq0/datacomp-paper", "aea1004071a3d8f287c9cfde50cf08e0950d1795", "", "NeurIPS (.bbl)"),
    ("xai-ood", "jonatan-hanssen/xai_ood_paper", "c44209f37a14c2027739fce076d9fc29f7b1625e", "", "NeurIPS"),
    (
        "beta-alignment",
        "1587causalai/dynamic-beta-alignment",
        "4a1a424d1542196b85e6d5857b940e1492ece8e4",
        "",
        "NeurIPS",
    ),
    ("rasp-recogs", "willy-b/RASP-for-ReCOGS", "eddc7747638feef3ca4cec4b8403e864c1651509", "", "ACL"),
    (
        "attention-sink",
        "HilaHorizon/attention-sink-paper",
        "529624fa2cf808c2c98213eee2dbabbb743d70cf",
        "",
        "ACL",
    ),
    (
        "informaticup",
        "Ctrl-Alt-Defeat-Foundation-Models/informatiCup2024Paper",
        "1f48de8d69857e6dc360091d63df7786df779c8b",
        "",
        "ICLR",
    ),
    ("uni-graph", "qslim/uni_graph", "6513a441ed566d1c208ea650efd87e75ca9d36ea", "", "ICLR"),
    ("proteus", "proteus-photos/proteus-paper", "d63a2bf169d5f0a28999f02fb6aaf591feec320e", "", "CVPR"),
    (
        "bfw-face",
        "visionjo/BFW-Face-Bias-Paper",
        "1b027d92bf06f642b82a946ca4c61cf9d160e1c9",
        "",
        "CVPR workshop",
    ),
    ("ft-vldb", "senorcarbone/ft-vldb", "34113999b0ae9250a624586981d721a2ea4b5f00", "", "VLDB"),
    (
        "opgm-vldb",
        "E-Neo/opgm-paper",
        "008b9f37b1b5594167010be4165691d4a6f2244a",
        "vldb",
        "VLDB (nested inputs)",
    ),
    ("opgm-fast", "E-Neo/opgm-paper", "008b9f37b1b5594167010be4165691d4a6f2244a", "fast", "USENIX FAST"),
    ("rlqueryopt", "sjyk/vldb-rlqueryopt", "4ed61d4b56b316d88f72301fc445cf2a7a150bdd", "", "VLDB"),
    (
        "stoic",
        "MAYHEM-Lab/STOIC_SOCC_Paper",
        "14b7ee75fe60f61b081aff7ae6536348640b9168",
        "",
        "ACM SoCC (\\iffalse)",
    ),
    ("midas", "atrib/midas-paper", "fe3f58533112ccc9e8931e27b480e8ea14d57c67", "", "USENIX (several mains)"),
    ("cakes", "URI-ABD/cakes-paper", "b46e4b21e280e6462b914100849d3f7ec8278a84", "", "arXiv style"),
    (
        "lora-rank",
        "CatsMeow492/adaptive-lora-rank-allocation",
        "a0bd9b77d9b2a024478bd9b7e9a12280f5dce8db",
        "",
        "article (.bbl)",
    ),
]


def git_dir(repo: str) -> Path:
    base = MIRRORS / repo.replace("/", "+") / "repo"
    return base / ".git" if (base / ".git").is_dir() else base


def rebuild(dest: Path) -> list[str]:
    """Write every source project under ``dest``; the names of those whose mirror is missing.

    Files are read one by one (``git cat-file``): a mirror may lack its largest blobs, and a
    figure that is absent does not matter to the text."""
    missing = []
    for name, repo, commit, folder, _venue in SOURCES:
        gd = git_dir(repo)
        if not gd.exists():
            missing.append(name)
            continue
        git = ["git", "--git-dir", str(gd)]
        listing = subprocess.run(
            [*git, "ls-tree", "-r", "-l", "-z", commit, *([folder] if folder else [])],
            check=True,
            capture_output=True,
        ).stdout.decode()
        for row in filter(None, listing.split("\0")):
            meta, path = row.split("\t", 1)
            _mode, kind, sha, size = meta.split()
            if kind != "blob" or not size.isdigit() or int(size) > MAX_FILE_BYTES:
                continue
            blob = subprocess.run([*git, "cat-file", "blob", sha], capture_output=True)
            if blob.returncode:
                continue  # absent from the mirror
            target = dest / name / (Path(path).relative_to(folder) if folder else Path(path))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob.stdout)
    return missing


if __name__ == "__main__":
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/main/.cache/corpus/latex")
    missing = rebuild(dest)
    print(
        f"wrote {len(SOURCES) - len(missing)} projects under {dest}"
        + (f"; missing mirrors: {missing}" if missing else "")
    )
