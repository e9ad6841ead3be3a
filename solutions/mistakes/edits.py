"""Edits of a reference's source, anchored on code: the one way the catalogue's source
mistakes are made (by `cnnlab mutants`, the public hints, the samples and the tests).

An edit is (find, replace), or Edit(find, replace, inside) where `inside` names the
top-level function or class (or "Class.method") the find must be in. `find` is matched
against the source's code with comments and spacing ignored: its words, numbers, strings
and operators must occur in that order, one after another, exactly once (in `inside`). So
a find-string never leans on a comment such as `# N x 64 x 27 x 27`, and a comment or an
aligned column between its lines does not stop it matching. The matched code (and any
comment inside it) is replaced by `replace` as written.

Spacing around `find` counts as follows, so that an edit written as an exact excerpt of the
source gives the same text as a plain string replacement: leading spaces (an indentation)
take in the source's spaces before the match; a trailing newline takes in the rest of the
source's line, a trailing comment included."""
from __future__ import annotations

import ast
import functools
import re
from typing import NamedTuple

# A string literal (any prefix, any quotes), a comment, a word or number, or one operator
# character. Strings come first so that a "#" inside one is no comment.
_LEXEME = re.compile(r"""
    (?P<string>(?<!\w)[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''
                                   |"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<comment>\#[^\n]*)
  | (?P<word>\w+)
  | (?P<space>\s+)
  | (?P<op>.)
""", re.VERBOSE)


class Edit(NamedTuple):
    find: str
    replace: str
    inside: str | None = None   # a top-level definition ("VGG", "VGG.forward"); None: anywhere


class EditError(ValueError):
    """An edit whose find-string does not occur exactly once in the source."""


def _code(text: str) -> list[tuple[str, int, int]]:
    """(lexeme, start, end) of every lexeme of `text` but spaces and comments."""
    return [(m.group(), m.start(), m.end()) for m in _LEXEME.finditer(text)
            if m.lastgroup not in ("space", "comment")]


@functools.lru_cache(maxsize=16)
def _source_code(source: str) -> tuple[tuple[str, int, int], ...]:
    """_code of a whole source, kept: every mutant of an assignment is found in the same
    reference (lexing it for each edit was 1.2 s of a cnn_architectures hint table)."""
    return tuple(_code(source))


def _definition_span(source: str, name: str) -> tuple[int, int]:
    """The characters of the top-level definition `name` ("Class.method" for a method)."""
    body, node = ast.parse(source).body, None
    for part in name.split("."):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef,
                                                        ast.AsyncFunctionDef))
                     and n.name == part), None)
        if node is None:
            raise EditError(f"the reference has no definition {name!r}")
        body = node.body
    lines = source.splitlines(keepends=True)
    start = sum(map(len, lines[:node.lineno - 1])) + node.col_offset
    end = sum(map(len, lines[:node.end_lineno - 1])) + node.end_col_offset
    return start, end


def find_span(source: str, find: str, inside: str | None = None) -> tuple[int, int]:
    """The (start, end) of the one place where `find`'s code occurs in `source` (in the
    definition `inside`, if given)."""
    wanted = [lexeme for lexeme, _, _ in _code(find)]
    if not wanted:
        raise EditError(f"{find!r} has no code to look for")
    have = _source_code(source)
    if inside is not None:
        low, high = _definition_span(source, inside)
        have = [lexeme for lexeme in have if low <= lexeme[1] and lexeme[2] <= high]
    texts = [lexeme for lexeme, _, _ in have]
    hits = [i for i in range(len(texts) - len(wanted) + 1)
            if texts[i:i + len(wanted)] == wanted]
    if len(hits) != 1:
        where = f" in {inside}" if inside else ""
        raise EditError(f"{find!r} occurs {len(hits)} times in the reference{where} (it must "
                        "occur exactly once)")
    start, end = have[hits[0]][1], have[hits[0] + len(wanted) - 1][2]
    return _with_spacing(source, find, start, end)


def _with_spacing(source: str, find: str, start: int, end: int) -> tuple[int, int]:
    lead = find[:len(find) - len(find.lstrip())]
    for _ in range(len(lead.split("\n")[-1])):  # the indentation before the first line
        if start == 0 or source[start - 1] not in " \t":
            break
        start -= 1
    trail = find[len(find.rstrip()):]
    if "\n" in trail:
        line_end = source.find("\n", end)
        rest = source[end:line_end if line_end >= 0 else len(source)]
        if not rest.strip() or rest.lstrip().startswith("#"):
            end = len(source) if line_end < 0 else line_end + 1
        trail = trail.split("\n")[-1]
    for _ in range(len(trail)):
        if end == len(source) or source[end] not in " \t":
            break
        end += 1
    return start, end


def apply_edits(source: str, edits) -> str:
    """`source` with each (find, replace) of `edits` made in turn (EditError if a find does
    not occur exactly once in the source as edited so far)."""
    for edit in map(as_edit, edits):
        start, end = find_span(source, edit.find, edit.inside)
        source = source[:start] + edit.replace + source[end:]
    return source


def as_edit(edit) -> Edit:
    return edit if isinstance(edit, Edit) else Edit(*edit)


def _once(source: str, text: str) -> bool:
    """Whether `text` occurs once in `source`, as text and as code."""
    if source.count(text) != 1:
        return False
    try:
        find_span(source, text)
    except EditError:
        return False
    return True


def resolved_edits(source: str, edits) -> list[tuple[str, str]]:
    """The edits as exact excerpts of `source`: (the text each find matches, with whole lines
    before it until that text occurs once, as text and as code, and its replacement), so that
    plain string replacements, or apply_edits, in turn give what apply_edits gives."""
    out = []
    for edit in map(as_edit, edits):
        start, end = find_span(source, edit.find, edit.inside)
        context = start
        while context > 0 and not _once(source, source[context:end]):
            context = source.rfind("\n", 0, context - 1) + 1
        before = source[context:start]
        out.append((before + source[start:end], before + edit.replace))
        source = source[:start] + edit.replace + source[end:]
    return out
