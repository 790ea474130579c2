"""The shared LaTeX scanners: comments, brace groups, commands, balancing."""

from cycleresearcher import latex


def test_comments_keep_escaped_percent_and_can_keep_offsets():
    text = "a 50\\% rate % a note\n% whole line\nb"
    assert latex.strip_comments(text) == "a 50\\% rate \n\nb"
    assert latex.strip_comments(text, drop_comment_lines=True) == "a 50\\% rate \nb"
    kept = latex.strip_comments(text, keep_width=True)
    assert len(kept) == len(text) and kept.index("b") == text.index("\nb") + 1


def test_group_end_skips_escaped_braces_and_reports_unclosed():
    s = r"\title{A \{x\} {B}} tail"
    i = s.index("{")
    assert latex.group(s, i) == (r"A \{x\} {B}", True)
    assert latex.group_end("{open {x}", 0) is None
    assert latex.group("{open {x}", 0) == ("open {x}", False)


def test_command_argument_span_and_removal():
    s = r"x \caption[short]{The {nested} cap} y \caption{second}"
    assert latex.command_argument(s, "caption") == "The {nested} cap"
    assert latex.remove_command(s, "caption") == r"x  y \caption{second}"
    assert latex.command_argument(r"\title{never", "title") is None
    assert latex.command_argument(r"\title{never", "title", unclosed=True) == "never"
    assert latex.remove_command(r"keep \title{never", "title") == "keep "
    assert latex.command_span("nothing", "title") is None


def test_unclosed_braces_and_balance():
    assert latex.unclosed_braces("{a {b} % {not counted\n\\{ c") == 1
    assert latex.unclosed_braces("} stray {x}") == 0
    assert latex.balance("} a {b \\} {c}") == " a {b \\} {c}}"


def test_plain_title_strips_latex_and_keeps_math_readable():
    from cycleresearcher.latex import plain_title

    assert plain_title(r"\title{\textbf{Sparse} Attention~for $\alpha$-$k$NN\thanks{Funded.}}") == (
        "Sparse Attention for α-kNN"
    )
    assert plain_title(r"\textsc{GraphMix}: $\mathcal{O}(n \log n)$ Walks\\ at 50\% Cost") == (
        "GraphMix: O(n log n) Walks at 50% Cost"
    )
    assert (
        plain_title(r"\title[short]{Costs \$5 % a comment" + "\n" + r"and \emph{more}") == "Costs $5 and more"
    )
    assert plain_title("Plain Title") == "Plain Title" and plain_title(None) == ""


def test_greek_macro_names_what_tex_has_and_nothing_else():
    from cycleresearcher.latex import greek_macro

    assert (
        greek_macro("α") == "\\alpha"
        and greek_macro("Λ") == "\\Lambda"
        and greek_macro("Γ") == "\\Gamma"
        and greek_macro("Υ") == "\\Upsilon"
    )
    assert greek_macro("ά") == "\\alpha"  # with tonos
    assert greek_macro("ς") == "\\sigma"  # final sigma
    assert greek_macro("Α") is None and greek_macro("ο") is None  # TeX has no \Alpha, \omicron
    assert greek_macro("a") is None and greek_macro("é") is None and greek_macro("") is None


def test_rescue_gives_greek_letters_their_macro_and_other_characters_a_mark():
    from cycleresearcher.paper.export.rescue import rescue_definitions

    log = "\n".join(f"! LaTeX Error: Unicode character {ch} (U+{ord(ch):04X})" for ch in ("λ", "Ω", "Α", "★"))
    defs = rescue_definitions(log)
    assert "\\DeclareUnicodeCharacter{03BB}{\\ensuremath{\\lambda}}" in defs
    assert "\\DeclareUnicodeCharacter{03A9}{\\ensuremath{\\Omega}}" in defs
    assert "\\DeclareUnicodeCharacter{0391}{?}" in defs and "\\DeclareUnicodeCharacter{2605}{?}" in defs


def test_result_cells_print_greek_letters_tex_can_set():
    from cycleresearcher.paper.export.results_latex import _escape_plain

    assert _escape_plain("Δ loss, ά, Α, ο") == ("\\ensuremath{\\Delta} loss, \\ensuremath{\\alpha}, A, o")


def test_accents_and_special_letters_read_as_unicode():
    """Names from real .bib exports (JabRef, Zotero) spell accents as TeX commands; labels and
    titles read them as letters, and a longer command that starts alike is left alone."""
    cases = {
        r"Hald{\'o}rsd{\'o}ttir": "Haldórsdóttir",
        r"Hald\'{o}rsson": "Haldórsson",
        r"Sch{\"u}tze": "Schütze",
        r"{\aa}berg and {\AA}sa": "åberg and Åsa",
        r"S{\o}rensen, \O ystein": "Sørensen, Øystein",
        r"Wei\ss{}mann": "Weißmann",
        r"{\d u}ng": "ụng",
        r"Dvo\v{r}\'ak, \v Cech": "Dvořák, Čech",
        r"Fran\c{c}ois": "François",
        r"Pe\~na, Nu\~ nez": "Peña, Nuñez",
        r"Er\H{o}d, J\"{\i}": "Erőd, Jï",
        r"\L{}ukasz \k{a}": "Łukasz ą",
    }
    for tex, text in cases.items():
        assert latex.plain_title(tex) == text, tex
    untouched = r"$\uparrow \oplus \left( \theta \cdot x \right)$ \item \ldots"
    assert latex.tex_accents(untouched) == untouched
