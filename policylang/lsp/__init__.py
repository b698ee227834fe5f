"""`policylang lsp`: a language server for rule files (docs/editors.md).

server.py holds the LSP handlers (pygls); project.py loads and checks the rules tree of an open
file with the editor's unsaved texts; symbols.py finds declarations and the names that refer to
them; positions.py converts between character offsets and LSP positions. Only server.py imports
pygls, and the CLI imports it only for `policylang lsp`.
"""
