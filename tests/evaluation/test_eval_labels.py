"""The one label CSV reader (evaluation/loading.py) behind `detect --labels`, `evaluate detection`
and `evaluate papers --group-by label`: header optional, columns picked by name, errors with the
file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cycleresearcher.errors import InputError
from cycleresearcher.evaluation.loading import load_detection_labels, load_labels, read_label_rows


def csv_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "labels.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_header_optional_and_columns_by_name(tmp_path):
    assert load_labels(csv_file(tmp_path, "p1,human\np2,generated\n")) == {"p1": "human", "p2": "generated"}
    # the label column may come first; the id column is found by name; a BOM is not part of a name
    path = csv_file(tmp_path, "\ufefflabel,score,paper_id\nhuman,3,p1\n1,4,p2\n")
    assert load_labels(path) == {"p1": "human", "p2": "1"}
    assert load_detection_labels(path) == {"p1": 0, "p2": 1}


def test_comments_blank_lines_and_line_numbers(tmp_path):
    path = csv_file(tmp_path, "# made by hand\nfile,label\n\na.pdf,machine\n,human\nb.pdf,human\n")
    rows = read_label_rows(path)
    assert [(r.line, r.key, r.label) for r in rows] == [(4, "a.pdf", "machine"), (6, "b.pdf", "human")]
    path = csv_file(tmp_path, "file,label\na.pdf,machine\nb.pdf,perhaps\n")
    with pytest.raises(InputError, match=r"labels\.csv:3: Unknown label 'perhaps'"):
        load_detection_labels(path)
    assert load_labels(path)["b.pdf"] == "perhaps"  # a group name need not be human/machine


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("paper_id,group\np1,a\n", r"needs a header with an id column .* 'label' column"),
        ("label\nhuman\n", r"needs a header with an id column"),
        ("file,label\na.pdf\n", r"labels\.csv:2: expected `file,label`, got 'a.pdf'"),
        ("file,label\n", r"no labels found"),
        (b"file,label\n\xff,1\n", r"not UTF-8 text \(byte \d+\)"),
    ],
)
def test_errors_say_what_to_fix(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_labels(csv_file(tmp_path, text))


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(InputError, match=r"does not exist\. Pass a CSV with columns paper_id,label"):
        load_labels(tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r"cannot read the labels CSV"):
        load_detection_labels(tmp_path)  # a folder
