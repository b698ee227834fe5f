"""The LSP handlers (pygls): diagnostics, hover, definition, references, completion,
formatting and quick fixes for rule files. Started by `policylang lsp` over stdio."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from policylang import __version__
from policylang.errors import Diagnostic, PolicyError
from policylang.format import format_module
from policylang.lsp import hover
from policylang.lsp.completion import complete
from policylang.lsp.positions import Lines
from policylang.lsp.project import Project, load_project, rules_root
from policylang.lsp.symbols import Index, tokens
from policylang.syntax.parser import parse

_DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")
_QUOTED = re.compile(r"`([^`]+)`")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Typing re-checks the tree once the author pauses this long; a request (hover, completion ...)
# checks at once whatever is pending, so it always answers for the text as it is.
PAUSE_SECONDS = 0.3


class PolicyServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("policylang", __version__)
        self.indexes: dict[Path, Index] = {}  # rules tree root -> its last index
        self.published: dict[Path, set[str]] = {}  # root -> URIs given diagnostics
        self.pending: dict[Path, str] = {}  # root -> a changed URI not yet checked
        self.timers: dict[Path, asyncio.TimerHandle] = {}

    # ------------------------------------------------------------ texts
    def encoding(self) -> str:
        return str(getattr(self.workspace.position_encoding, "value", "utf-16") or "utf-16")

    def read(self, path: Path) -> str:
        """The editor's text of an open file, else the file on disk."""
        uri = from_fs_path(str(path))
        if uri is not None and uri in self.workspace.text_documents:
            return self.workspace.get_text_document(uri).source
        return path.read_text(encoding="utf-8")

    def lines(self, path: Path, index: Index) -> Lines:
        rule_file = index.project.files.get(path)
        text = rule_file.text if rule_file is not None else self.read(path)
        return Lines(text, self.encoding())

    # ------------------------------------------------------------ the rules tree
    def refresh(self, uri: str) -> Index:
        path = Path(to_fs_path(uri) or uri).resolve()
        project = load_project(rules_root(path), self.read, extra=(path,))
        index = Index(project, self.indexes.get(project.root))
        self.indexes[project.root] = index
        self.publish(project, index, uri)
        return index

    def later(self, uri: str) -> None:
        """Re-check after a pause in typing."""
        root = rules_root(Path(to_fs_path(uri) or uri))
        self.pending[root] = uri
        timer = self.timers.pop(root, None)
        if timer is not None:
            timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (not served over stdio): check now
            self.flush(root)
            return
        self.timers[root] = loop.call_later(PAUSE_SECONDS, self.flush, root)

    def flush(self, root: Path) -> None:
        timer = self.timers.pop(root, None)
        if timer is not None:
            timer.cancel()
        uri = self.pending.pop(root, None)
        if uri is not None:
            self.refresh(uri)

    def index(self, uri: str) -> tuple[Index, Path]:
        path = Path(to_fs_path(uri) or uri).resolve()
        self.flush(rules_root(path))
        index = self.indexes.get(rules_root(path))
        if index is None or path not in index.project.files:
            index = self.refresh(uri)
        return index, path

    def publish(self, project: Project, index: Index, uri: str) -> None:
        sent: set[str] = set()
        for path, found in project.diagnostics.items():
            lines = self.lines(path, index)
            file_uri = from_fs_path(str(path)) or str(path)
            items = [lsp_diagnostic(d, lines) for d in found]
            if file_uri == uri:
                items += [lsp_diagnostic(d, lines) for d in project.unplaced]
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=file_uri, diagnostics=items)
            )
            sent.add(file_uri)
        for stale in self.published.get(project.root, set()) - sent:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=stale, diagnostics=[])
            )
        self.published[project.root] = sent


def lsp_diagnostic(diagnostic: Diagnostic, lines: Lines) -> types.Diagnostic:
    """A policylang diagnostic for the editor: code, message, then `help:` and notes."""
    span = diagnostic.span
    if span is not None and span.source.text:
        where = lines.range(span.start, max(span.end, span.start))
    else:
        where = lines.range(0, 0)
    message = diagnostic.message
    if diagnostic.help:
        message += f"\nhelp: {diagnostic.help}"
    for note in diagnostic.notes:
        message += f"\nnote: {note}"
    data = None
    suggestion = _DID_YOU_MEAN.search(diagnostic.help or "")
    if suggestion is not None:
        data = {"replace": suggestion.group(1)}
    return types.Diagnostic(
        range=where,
        message=message,
        severity=(
            types.DiagnosticSeverity.Error
            if diagnostic.severity == "error"
            else types.DiagnosticSeverity.Warning
        ),
        code=diagnostic.code,
        source="policylang",
        data=data,
    )


server = PolicyServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: PolicyServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.refresh(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: PolicyServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.later(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: PolicyServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.pending.pop(rules_root(Path(to_fs_path(params.text_document.uri) or "")), None)
    ls.refresh(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: PolicyServer, params: types.DidCloseTextDocumentParams) -> None:
    # The file on disk counts again; its diagnostics stay those of the saved text.
    path = Path(to_fs_path(params.text_document.uri) or "").resolve()
    if path.is_file():
        ls.refresh(params.text_document.uri)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_files(ls: PolicyServer, params: types.DidChangeWatchedFilesParams) -> None:
    roots = {rules_root(Path(to_fs_path(c.uri) or c.uri)) for c in params.changes}
    for root in roots & set(ls.indexes):
        files = list(ls.indexes[root].project.files)
        if files:  # one refresh reloads the whole tree
            ls.refresh(from_fs_path(str(files[0])) or str(files[0]))


# ------------------------------------------------------------ hover


@server.feature(types.TEXT_DOCUMENT_HOVER)
def on_hover(ls: PolicyServer, params: types.HoverParams) -> types.Hover | None:
    index, path = ls.index(params.text_document.uri)
    lines = ls.lines(path, index)
    offset = lines.offset(params.position)
    citation = _citation_at(lines.text, offset)
    if citation is not None:
        text, start, end = citation
        found = hover.cited_line(text, index.project.root)
        body = f"source: `{text}`"
        body += f"\n\n{found[0]}:{found[1]}:\n\n> {found[2]}" if found else ""
        return _hover(body, lines.range(start, end))
    token = index.token_at(path, offset)
    if token is None:
        return None
    symbol = index.resolve(token)
    if symbol is not None:
        body = hover.describe(symbol, index.texts[symbol.path], index.project.root)
    elif token.key.startswith("claim."):
        body = hover.describe_standard_field(token.text)
    else:
        body = hover.describe_builtin(token.text) if "." not in token.key else None
    return _hover(body, lines.range(token.start, token.end)) if body else None


def _hover(body: str, where: types.Range) -> types.Hover:
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=body), range=where
    )


def _citation_at(text: str, offset: int) -> tuple[str, int, int] | None:
    """The text of a `source "..."` citation under the cursor, with its offsets."""
    return _string_after("source", text, offset)


def _string_after(keyword: str, text: str, offset: int) -> tuple[str, int, int] | None:
    """The quoted text under the cursor when `keyword` comes before it, with its offsets."""
    previous = ""
    for start, end, token in tokens(text):
        if token.startswith('"') and start <= offset < end and previous == keyword:
            return token.strip('"'), start, end
        if start > offset:
            return None
        if not token.startswith("#"):
            previous = token
    return None


# ------------------------------------------------------------ definition and references


def _location(ls: PolicyServer, index: Index, path: Path, start: int, end: int) -> types.Location:
    lines = ls.lines(path, index)
    return types.Location(uri=from_fs_path(str(path)) or str(path), range=lines.range(start, end))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: PolicyServer, params: types.DefinitionParams) -> types.Location | None:
    index, path = ls.index(params.text_document.uri)
    lines = ls.lines(path, index)
    offset = lines.offset(params.position)
    imported = _string_after("import", lines.text, offset)
    if imported is not None:  # `import "common.policy"` opens that file
        target = (path.parent / imported[0]).resolve()
        start = types.Position(line=0, character=0)
        if not target.is_file():
            return None
        return types.Location(
            uri=from_fs_path(str(target)) or str(target), range=types.Range(start=start, end=start)
        )
    token = index.token_at(path, offset)
    symbol = index.resolve(token) if token is not None else None
    if symbol is None:
        return None
    lines = Lines(index.texts[symbol.path], ls.encoding())  # the text its offsets are in
    return types.Location(
        uri=from_fs_path(str(symbol.path)) or str(symbol.path),
        range=lines.range(symbol.start, symbol.end),
    )


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def references(ls: PolicyServer, params: types.ReferenceParams) -> list[types.Location]:
    index, path = ls.index(params.text_document.uri)
    token = index.token_at(path, ls.lines(path, index).offset(params.position))
    symbol = index.resolve(token) if token is not None else None
    if symbol is None:
        return []
    found = []
    for ref in index.references(symbol):
        declaration = ref.path == symbol.path and ref.start == symbol.start
        if declaration and not params.context.include_declaration:
            continue
        found.append(_location(ls, index, ref.path, ref.start, ref.end))
    return found


# ------------------------------------------------------------ outline

_SYMBOL_KINDS = {
    "enum": types.SymbolKind.Enum,
    "record": types.SymbolKind.Struct,
    "table": types.SymbolKind.Struct,
    "codes": types.SymbolKind.Array,
    "parameter": types.SymbolKind.Constant,
    "define": types.SymbolKind.Variable,
    "title": types.SymbolKind.Class,
    "rule": types.SymbolKind.Event,
    "settlement": types.SymbolKind.Function,
    "check": types.SymbolKind.Boolean,
    "invariant": types.SymbolKind.Boolean,
    "split": types.SymbolKind.Function,
}


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(
    ls: PolicyServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    """The file's declarations, in order, each with the whole declaration as its range."""
    index, path = ls.index(params.text_document.uri)
    lines = Lines(index.texts.get(path, ""), ls.encoding())
    found = []
    for symbol in index.symbols.values():
        if symbol.path != path or symbol.kind not in _SYMBOL_KINDS:
            continue
        span = symbol.node.span  # type: ignore[attr-defined]
        found.append(
            types.DocumentSymbol(
                name=symbol.key,
                detail=symbol.kind,
                kind=_SYMBOL_KINDS[symbol.kind],
                range=lines.range(span.start, span.end),
                selection_range=lines.range(symbol.start, symbol.end),
            )
        )
    return sorted(found, key=lambda s: (s.range.start.line, s.range.start.character))


# ------------------------------------------------------------ completion


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["."]))
def completion(ls: PolicyServer, params: types.CompletionParams) -> types.CompletionList:
    index, _ = ls.index(params.text_document.uri)
    document = ls.workspace.get_text_document(params.text_document.uri)
    lines = Lines(document.source, ls.encoding())
    offset = lines.offset(params.position)
    line_start = document.source.rfind("\n", 0, offset) + 1
    return types.CompletionList(
        is_incomplete=False, items=complete(index, document.source[line_start:offset])
    )


# ------------------------------------------------------------ formatting


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def formatting(
    ls: PolicyServer, params: types.DocumentFormattingParams
) -> list[types.TextEdit] | None:
    """`policylang fmt` of the editor's text: one edit replacing the file, none when formatted."""
    document = ls.workspace.get_text_document(params.text_document.uri)
    text = document.source
    try:
        formatted = format_module(parse(text, document.filename or "<editor>"))
    except PolicyError:
        return None  # the diagnostics say why; nothing to format until the file parses
    if formatted == text:
        return []
    lines = Lines(text, ls.encoding())
    return [types.TextEdit(range=lines.range(0, len(text)), new_text=formatted)]


# ------------------------------------------------------------ quick fixes


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def code_action(ls: PolicyServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """A hint `did you mean `x`?` becomes "replace with `x`"."""
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)
    lines = Lines(document.source, ls.encoding())
    actions = []
    for diagnostic in params.context.diagnostics:
        if diagnostic.source != "policylang":
            continue
        data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
        suggestion = data.get("replace")
        if suggestion is None:
            match = _DID_YOU_MEAN.search(diagnostic.message)
            suggestion = match.group(1) if match else None
        if suggestion is None:
            continue
        where = _misspelt(lines, diagnostic)
        actions.append(
            types.CodeAction(
                title=f"replace with `{suggestion}`",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                is_preferred=True,
                edit=types.WorkspaceEdit(
                    changes={uri: [types.TextEdit(range=where, new_text=suggestion)]}
                ),
            )
        )
    return actions


def _misspelt(lines: Lines, diagnostic: types.Diagnostic) -> types.Range:
    """The misspelt word: the whole range, or the word of the message (`unknown field `x``)
    inside it when the range covers more (`claim.x`)."""
    start, end = lines.offset(diagnostic.range.start), lines.offset(diagnostic.range.end)
    covered = lines.text[start:end]
    if _WORD.fullmatch(covered):
        return diagnostic.range
    quoted = _QUOTED.search(diagnostic.message)
    if quoted is not None:
        for word in _WORD.finditer(covered):
            if word.group(0) == quoted.group(1):
                return lines.range(start + word.start(), start + word.end())
    return diagnostic.range


def serve() -> None:
    server.start_io()
