"""Editor support (editors/): the TextMate grammar covers the Lark grammar's keywords, and the
VS Code extension's manifest points at files that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from policylang.check.builtins import BUILTINS
from tests.conftest import ROOT

GRAMMAR = ROOT / "editors" / "textmate" / "policy.tmLanguage.json"
VSCODE = ROOT / "editors" / "vscode"


def _lark_keywords() -> set[str]:
    """Every word the Lark grammar writes as a literal ("title", "not" ...), comments left out."""
    text = (ROOT / "grammar" / "policy.lark").read_text(encoding="utf-8")
    code = "\n".join(line.split("//", 1)[0] for line in text.splitlines())
    words = set(re.findall(r'"([a-z_]+)"', code))
    words |= set(re.findall(r"/([a-z]+)\[", code))  # NOT_IN: /not[ \t\r\n]+in\b/
    return words


def _tm() -> dict[str, Any]:
    return json.loads(GRAMMAR.read_text(encoding="utf-8"))


def _patterns(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("patterns", []):
        found += _patterns(child)
    return found


def _words(pattern: dict[str, Any]) -> set[str]:
    regex = pattern.get("match", "")
    return {w for group in re.findall(r"\\b\(([a-z_|]+)\)", regex) for w in group.split("|")}


def _keyword_words() -> set[str]:
    repository = _tm()["repository"]
    words: set[str] = set()
    for name in ("keyword", "constant"):
        for pattern in _patterns(repository[name]):
            words |= _words(pattern)
    return words


def test_every_keyword_of_the_lark_grammar_is_highlighted() -> None:
    missing = _lark_keywords() - _keyword_words()
    assert missing == set()


def test_the_textmate_grammar_highlights_no_word_the_lark_grammar_lacks() -> None:
    extra = _keyword_words() - _lark_keywords()
    assert extra == set()


def test_the_builtin_functions_are_those_of_the_checker() -> None:
    builtin = _patterns(_tm()["repository"]["builtin"])
    assert set().union(*(_words(p) for p in builtin)) == set(BUILTINS)


def test_every_include_names_a_repository_entry() -> None:
    tm = _tm()
    includes = [p["include"] for p in tm["patterns"]]
    assert includes and all(i.startswith("#") and i[1:] in tm["repository"] for i in includes)


# ------------------------------------------------------------ a small TextMate tokenizer
# Oniguruma and Python's `re` agree on every construct the grammar uses, so the grammar can be
# run here: leftmost match wins, ties go to the pattern listed first (as in TextMate).


def _flat(tm: dict[str, Any]) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []

    def add(node: dict[str, Any]) -> None:
        if "include" in node:
            add(tm["repository"][node["include"][1:]])
        elif "match" in node or "begin" in node:
            flat.append(node)
        else:
            for child in node["patterns"]:
                add(child)

    for top in tm["patterns"]:
        add(top)
    return flat


def _scopes(line: str) -> list[tuple[str, str]]:
    """(text, scope) for each highlighted piece of one line."""
    patterns = _flat(_tm())
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(line):
        best = None
        for pattern in patterns:
            match = re.compile(pattern.get("match") or pattern["begin"]).search(line, position)
            if (
                match
                and match.end() > match.start()
                and (best is None or match.start() < best[0].start())
            ):
                best = (match, pattern)
        if best is None:
            break
        match, pattern = best
        if "begin" in pattern:
            end = re.compile(pattern["end"]).search(line, match.end())
            stop = end.end() if end else len(line)
            found.append((line[match.start() : stop], pattern["name"]))
            position = stop
            continue
        if "name" not in pattern:
            for group, capture in sorted(pattern["captures"].items()):
                found.append((match.group(int(group)), capture["name"]))
        else:
            found.append((match.group(0), pattern["name"]))
        position = match.end()
    return found


def test_a_title_line_is_highlighted_piece_by_piece() -> None:
    assert _scopes('title consult_advies "Advies" {  # 001:777') == [
        ("title", "storage.type.declaration.policy"),
        ("consult_advies", "entity.name.type.policy"),
        ('"Advies"', "string.quoted.double.policy"),
        ("{", "punctuation.section.braces.policy"),
        ("# 001:777", "comment.line.number-sign.policy"),
    ]


def test_amounts_dates_percentages_and_builtins() -> None:
    assert _scopes("from 2025-01-01 = round(EUR 4_100_000.00 * 2.5%)") == [
        ("from", "keyword.other.clause.policy"),
        ("2025-01-01", "constant.numeric.date.policy"),
        ("=", "keyword.operator.assignment.policy"),
        ("round", "support.function.builtin.policy"),
        ("(", "punctuation.section.parens.policy"),
        ("EUR", "support.constant.currency.policy"),
        ("4_100_000.00", "constant.numeric.money.policy"),
        ("*", "keyword.operator.arithmetic.policy"),
        ("2.5%", "constant.numeric.percent.policy"),
        (")", "punctuation.section.parens.policy"),
    ]


def test_a_keyword_inside_a_name_or_a_string_is_not_a_keyword() -> None:
    assert _scopes('eligible when claim.setting_title == "title"') == [
        ("eligible", "keyword.other.clause.policy"),
        ("when", "keyword.control.policy"),
        ("claim", "storage.type.declaration.policy"),
        (".", "punctuation.accessor.policy"),
        ("==", "keyword.operator.comparison.policy"),
        ('"title"', "string.quoted.double.policy"),
    ]


# ------------------------------------------------------------ the VS Code extension


def _manifest() -> dict[str, Any]:
    return json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))


def test_the_extension_ships_the_same_grammar() -> None:
    copy = VSCODE / "syntaxes" / "policy.tmLanguage.json"
    assert copy.read_bytes() == GRAMMAR.read_bytes()


def test_every_path_in_the_extension_manifest_exists() -> None:
    manifest = _manifest()
    contributes = manifest["contributes"]
    paths = [manifest["main"]]
    paths += [language["configuration"] for language in contributes["languages"]]
    paths += [grammar["path"] for grammar in contributes["grammars"]]
    for path in paths:
        assert path.startswith("./")
        assert (VSCODE / path).is_file(), path


def test_the_manifest_ties_policy_files_to_the_grammar() -> None:
    contributes = _manifest()["contributes"]
    [language] = contributes["languages"]
    [grammar] = contributes["grammars"]
    assert language["extensions"] == [".policy"]
    assert grammar["language"] == language["id"]
    assert grammar["scopeName"] == _tm()["scopeName"] == "source.policy"
    assert _manifest()["activationEvents"] == [f"onLanguage:{language['id']}"]


def test_the_extension_starts_the_language_server() -> None:
    manifest = _manifest()
    properties = manifest["contributes"]["configuration"]["properties"]
    assert properties["policylang.server.command"]["default"] == "policylang"
    assert properties["policylang.server.args"]["default"] == ["lsp"]
    assert "vscode-languageclient" in manifest["dependencies"]
    client = (VSCODE / "extension.js").read_text(encoding="utf-8")
    assert 'require("vscode-languageclient/node")' in client
    assert '"policylang.server"' in client


@pytest.mark.parametrize("name", ["brackets", "autoClosingPairs", "surroundingPairs"])
def test_the_language_configuration_pairs_braces(name: str) -> None:
    configuration = json.loads((VSCODE / "language-configuration.json").read_text("utf-8"))
    assert configuration["comments"] == {"lineComment": "#"}
    pairs = [
        tuple(p) if isinstance(p, list) else (p["open"], p["close"]) for p in configuration[name]
    ]
    assert {("{", "}"), ("(", ")"), ("[", "]")} <= set(pairs)


def test_the_textmate_grammar_is_named_for_linguist() -> None:
    # GitHub linguist and other TextMate hosts find a grammar by file type and scope name.
    assert _tm()["fileTypes"] == ["policy"]
    assert Path(GRAMMAR).name == "policy.tmLanguage.json"


# ------------------------------------------------------------ `policylang lsp` without pygls


def test_lsp_without_pygls_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from typer.testing import CliRunner

    from policylang.cli import app

    monkeypatch.delitem(sys.modules, "policylang.lsp.server", raising=False)
    monkeypatch.setitem(sys.modules, "pygls.lsp.server", None)  # import fails as if missing
    result = CliRunner().invoke(app, ["lsp"])
    assert result.exit_code == 2
    assert "the language server needs pygls: pip install 'policylang[lsp]'" in result.output


def test_other_commands_do_not_import_the_language_server() -> None:
    import subprocess
    import sys

    code = "import sys, policylang.cli; print(sorted(m for m in sys.modules if 'pygls' in m or 'lsp' in m))"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert shown.stdout.strip() == "[]"
