"""`policylang lsp` driven by a real LSP client over stdio (pytest-lsp), as an editor drives it.

Each test starts the server as a subprocess on a rules tree of two files, `main.policy` importing
`common.policy`, with a seed file next to them. Nothing waits on the clock: the server handles
messages in order, so the reply to a request sent after `didOpen` comes after the diagnostics
that `didOpen` published.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from tests.conftest import ROOT  # noqa: E402

pytestmark = pytest.mark.asyncio

COMMON = """\
enum Setting { seh, kliniek }

claim {
  setting: Setting?
}

parameter consult_tariff: money
  source "seed.txt:2"
  from 2025-01-01 to 2025-12-31 = EUR 40.00
  from 2026-01-01 = EUR 45.00
"""

MAIN = """\
import "common.policy"

title consult "Consult" {
  codes {"190015"}
  eligible when claim.setting == Setting.seh
  tariff maximum consult_tariff
  source "seed.txt:2"
}
"""

SEED = "Regeling consulten\nEen consult kost ten hoogste EUR 45,00.\n"

# A hang guard only (a request that is never answered), not a limit on how fast anything is.
HANG_GUARD_SECONDS = 600


async def answer(request: Any) -> Any:
    return await asyncio.wait_for(request, HANG_GUARD_SECONDS)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "common.policy").write_text(COMMON, encoding="utf-8")
    (tmp_path / "main.policy").write_text(MAIN, encoding="utf-8")
    (tmp_path / "seed.txt").write_text(SEED, encoding="utf-8")
    return tmp_path


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "policylang", "lsp"],
        server_env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
)
async def client(lsp_client: LanguageClient, tree: Path) -> AsyncIterator[None]:
    await answer(
        lsp_client.initialize_session(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                workspace_folders=[types.WorkspaceFolder(uri=uri(tree), name="rules")],
            )
        )
    )
    yield
    await answer(lsp_client.shutdown_session())


def uri(path: Path) -> str:
    found = from_fs_path(str(path.resolve()))
    assert found is not None
    return found


def doc(path: Path) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri(path))


async def open_file(client: LanguageClient, path: Path, text: str | None = None) -> None:
    """Open `path` with `text` (unsaved) or its text on disk, and wait until it is checked."""
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri(path),
                language_id="policy",
                version=1,
                text=path.read_text(encoding="utf-8") if text is None else text,
            )
        )
    )
    await checked(client, path)


async def checked(client: LanguageClient, path: Path) -> None:
    # Any request: its answer follows the diagnostics of every notification sent before it.
    await answer(
        client.text_document_hover_async(
            types.HoverParams(text_document=doc(path), position=types.Position(line=0, character=0))
        )
    )


def span(line: int, start: int, end: int) -> types.Range:
    return types.Range(
        start=types.Position(line=line, character=start),
        end=types.Position(line=line, character=end),
    )


TYPO = MAIN.replace("maximum consult_tariff", "maximum consult_tarif")


async def test_an_unsaved_typo_is_reported_with_code_range_and_hint(
    client: LanguageClient, tree: Path
) -> None:
    await open_file(client, tree / "main.policy", TYPO)
    [diagnostic] = client.diagnostics[uri(tree / "main.policy")]
    assert diagnostic.range == span(5, 17, 30)
    assert diagnostic.code == "E0201"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.source == "policylang"
    assert diagnostic.message == (
        "unknown name `consult_tarif`\nhelp: did you mean `consult_tariff`?"
    )
    assert list(client.diagnostics[uri(tree / "common.policy")]) == []


async def test_fixing_the_typo_as_you_type_clears_the_diagnostic(
    client: LanguageClient, tree: Path
) -> None:
    await open_file(client, tree / "main.policy", TYPO)
    assert len(client.diagnostics[uri(tree / "main.policy")]) == 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(
                uri=uri(tree / "main.policy"), version=2
            ),
            content_changes=[
                types.TextDocumentContentChangePartial(range=span(5, 30, 30), text="f")
            ],
        )
    )
    await checked(client, tree / "main.policy")
    assert list(client.diagnostics[uri(tree / "main.policy")]) == []


async def test_a_syntax_error_in_an_imported_file_is_published_for_that_file(
    client: LanguageClient, tree: Path
) -> None:
    (tree / "common.policy").write_text(COMMON.replace('"seed.txt:2"', "'seed.txt:2'"), "utf-8")
    await open_file(client, tree / "main.policy")
    [diagnostic] = client.diagnostics[uri(tree / "common.policy")]
    assert diagnostic.code == "E0101"
    assert diagnostic.range == span(7, 9, 10)
    assert diagnostic.message == (
        'unexpected character `\'`\nhelp: texts and codes use double quotes: "190015"'
    )
    assert list(client.diagnostics[uri(tree / "main.policy")]) == []


async def test_the_quick_fix_replaces_the_misspelt_name(client: LanguageClient, tree: Path) -> None:
    await open_file(client, tree / "main.policy", TYPO)
    diagnostics = client.diagnostics[uri(tree / "main.policy")]
    actions = await answer(
        client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=doc(tree / "main.policy"),
                range=diagnostics[0].range,
                context=types.CodeActionContext(diagnostics=diagnostics),
            )
        )
    )
    [action] = actions
    assert action.title == "replace with `consult_tariff`"
    assert action.kind == types.CodeActionKind.QuickFix
    assert {k: list(v) for k, v in action.edit.changes.items()} == {
        uri(tree / "main.policy"): [
            types.TextEdit(range=span(5, 17, 30), new_text="consult_tariff")
        ]
    }


async def change(client: LanguageClient, path: Path, text: str, version: int = 2) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    await checked(client, path)


async def hover_text(client: LanguageClient, path: Path, line: int, character: int) -> str:
    result = await answer(
        client.text_document_hover_async(
            types.HoverParams(
                text_document=doc(path), position=types.Position(line=line, character=character)
            )
        )
    )
    assert result is not None
    return result.contents.value


async def test_hover_on_a_parameter_shows_its_periods_and_cited_sentence(
    client: LanguageClient, tree: Path
) -> None:
    await open_file(client, tree / "main.policy")
    assert await hover_text(client, tree / "main.policy", 5, 20) == (
        "```policy\n"
        "parameter consult_tariff: money\n"
        "  from 2025-01-01 to 2025-12-31 = EUR 40.00\n"
        "  from 2026-01-01 = EUR 45.00\n"
        "```\n\n"
        "source: `seed.txt:2`\n\n"
        "> Een consult kost ten hoogste EUR 45,00."
    )


async def test_hover_on_a_title_shows_its_codes_and_citation(
    client: LanguageClient, tree: Path
) -> None:
    await open_file(client, tree / "main.policy")
    assert await hover_text(client, tree / "main.policy", 2, 8) == (
        "```policy\n"
        'title consult "Consult"\n'
        '  codes {"190015"}\n'
        "  tariff maximum consult_tariff\n"
        "```\n\n"
        "source: `seed.txt:2`\n\n"
        "> Een consult kost ten hoogste EUR 45,00."
    )


async def test_hover_on_a_claim_field_and_a_citation(client: LanguageClient, tree: Path) -> None:
    await open_file(client, tree / "main.policy")
    assert await hover_text(client, tree / "main.policy", 4, 23) == (
        "```policy\nclaim.setting: Setting?\n```"
    )
    assert await hover_text(client, tree / "main.policy", 6, 12) == (
        "source: `seed.txt:2`\n\nseed.txt:2:\n\n> Een consult kost ten hoogste EUR 45,00."
    )


async def definition_of(client: LanguageClient, path: Path, line: int, character: int) -> Any:
    return await answer(
        client.text_document_definition_async(
            types.DefinitionParams(
                text_document=doc(path), position=types.Position(line=line, character=character)
            )
        )
    )


async def test_go_to_definition_follows_the_import(client: LanguageClient, tree: Path) -> None:
    await open_file(client, tree / "main.policy")
    main, common = tree / "main.policy", uri(tree / "common.policy")
    assert await definition_of(client, main, 5, 20) == types.Location(
        uri=common, range=span(6, 10, 24)
    )
    assert await definition_of(client, main, 4, 34) == types.Location(
        uri=common, range=span(0, 5, 12)
    )
    assert await definition_of(client, main, 4, 42) == types.Location(
        uri=common, range=span(0, 15, 18)
    )
    assert await definition_of(client, main, 4, 22) == types.Location(
        uri=common, range=span(3, 2, 9)
    )
    assert await definition_of(client, main, 3, 4) is None  # `codes` is a keyword
    assert await definition_of(client, main, 0, 10) == types.Location(
        uri=common, range=span(0, 0, 0)
    )  # the file an import names


async def test_find_references_across_files(client: LanguageClient, tree: Path) -> None:
    await open_file(client, tree / "common.policy")
    found = await answer(
        client.text_document_references_async(
            types.ReferenceParams(
                text_document=doc(tree / "common.policy"),
                position=types.Position(line=6, character=12),
                context=types.ReferenceContext(include_declaration=True),
            )
        )
    )
    assert sorted((loc.uri, loc.range.start.line, loc.range.start.character) for loc in found) == [
        (uri(tree / "common.policy"), 6, 10),
        (uri(tree / "main.policy"), 5, 17),
    ]


async def labels(client: LanguageClient, path: Path, line: int, character: int) -> list[str]:
    result = await answer(
        client.text_document_completion_async(
            types.CompletionParams(
                text_document=doc(path), position=types.Position(line=line, character=character)
            )
        )
    )
    return [item.label for item in result.items]


async def test_completion_of_fields_members_names_and_keywords(
    client: LanguageClient, tree: Path
) -> None:
    # The author is typing: the file does not parse, its declarations are still offered.
    main = tree / "main.policy"
    await open_file(client, main)
    await change(client, main, MAIN.replace("claim.setting == Setting.seh", "claim. == Setting."))
    assert await labels(client, main, 4, 22) == [
        "claim_id",
        "provider",
        "insurer",
        "patient",
        "code",
        "start_date",
        "end_date",
        "quantity",
        "amount",
        "credit",
        "corrects",
        "setting",
    ]
    assert await labels(client, main, 4, 34) == ["seh", "kliniek"]
    everything = await labels(client, main, 5, 17)
    assert {"consult_tariff", "consult", "Setting", "round", "tariff", "eligible"} <= set(
        everything
    )
    assert "seh" not in everything


FORMATTED = """\
parameter base: money
  from 2025-01-01 = EUR 10.00
"""


async def test_formatting_rewrites_the_file_as_fmt_does(client: LanguageClient, tree: Path) -> None:
    messy = "parameter   base : money\n      from 2025-01-01 =   EUR 10.00"
    path = tree / "base.policy"
    path.write_text(messy, encoding="utf-8")
    await open_file(client, path)
    options = types.FormattingOptions(tab_size=2, insert_spaces=True)
    edits = await answer(
        client.text_document_formatting_async(
            types.DocumentFormattingParams(text_document=doc(path), options=options)
        )
    )
    whole = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=1, character=35)
    )
    assert list(edits) == [types.TextEdit(range=whole, new_text=FORMATTED)]
    await change(client, path, FORMATTED)
    again = await answer(
        client.text_document_formatting_async(
            types.DocumentFormattingParams(text_document=doc(path), options=options)
        )
    )
    assert list(again) == []


async def test_a_file_in_a_subfolder_is_checked_with_the_tree_above_it(
    client: LanguageClient, tree: Path
) -> None:
    (tree / "care").mkdir()
    nested = tree / "care" / "extra.policy"
    nested.write_text(
        'import "../common.policy"\n\ndefine double_tariff: money = consult_tariff * 2\n',
        encoding="utf-8",
    )
    await open_file(client, nested)
    # The import resolved and the tree checks: only lint's remark is left.
    assert [d.code for d in client.diagnostics[uri(nested)]] == ["L003"]
    assert await definition_of(client, nested, 2, 32) == types.Location(
        uri=uri(tree / "common.policy"), range=span(6, 10, 24)
    )


async def test_diagnostics_follow_a_pause_in_typing_without_any_request(
    client: LanguageClient, tree: Path
) -> None:
    main = tree / "main.policy"
    await open_file(client, main)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri(main), version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=TYPO)],
        )
    )
    while not client.diagnostics[uri(main)]:  # published once the server sees the pause
        await answer(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS))
    assert [d.code for d in client.diagnostics[uri(main)]] == ["E0201"]


async def test_the_outline_lists_the_declarations_of_the_file(
    client: LanguageClient, tree: Path
) -> None:
    await open_file(client, tree / "common.policy")
    symbols = await answer(
        client.text_document_document_symbol_async(
            types.DocumentSymbolParams(text_document=doc(tree / "common.policy"))
        )
    )
    assert [(s.name, s.detail, s.kind, s.range, s.selection_range) for s in symbols] == [
        ("Setting", "enum", types.SymbolKind.Enum, span(0, 0, 29), span(0, 5, 12)),
        (
            "consult_tariff",
            "parameter",
            types.SymbolKind.Constant,
            types.Range(
                start=types.Position(line=6, character=0),
                end=types.Position(line=9, character=29),
            ),
            span(6, 10, 24),
        ),
    ]


async def test_lint_findings_show_as_warnings_once_the_tree_checks(
    client: LanguageClient, tree: Path
) -> None:
    extra = tree / "extra.policy"
    extra.write_text('title extra "Extra" {\n  codes {"990001"}\n  tariff free\n}\n', "utf-8")
    await open_file(client, extra)
    [finding] = client.diagnostics[uri(extra)]
    assert finding.code == "L001"
    assert finding.severity == types.DiagnosticSeverity.Warning
    assert finding.range == types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=3, character=1)
    )
    assert finding.message == (
        "payment title `extra` cites no source\n"
        'help: add `source "FILE:LINE"` so every decision can be traced to the policy text'
    )
