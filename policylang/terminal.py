"""Text from inputs made safe to show on a terminal: control characters become visible escapes.

A rule file's source line (in a diagnostic), a claim id or a message can hold ESC sequences
that move the cursor, rewrite what was printed, set the window title or worse, and bidi
controls that show text in another order than it is (Trojan Source, CVE-2021-42574). Every
such character is shown as its Python escape (`\\x1b`, `\\u202e`); everything else is unchanged.
JSON output needs none of this (json.dumps escapes control characters itself).
"""

from __future__ import annotations

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROLS = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, *_BIDI)
_SHORT = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_ESCAPES = {
    code: _SHORT.get(code, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in _CONTROLS
}


def visible(text: str) -> str:
    """`text` with every control character (C0, DEL, C1, line separators, bidi) escaped."""
    return text.translate(_ESCAPES)
