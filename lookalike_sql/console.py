"""Text that survives a warehouse console as pasted.

The Hive CLI (``hive -e``, ``hive -f``) and beeline cut a script into statements at each
``;`` outside quotes, and track quotes everywhere, ``--`` comments included: an
apostrophe in a comment ("the seed's mean") opens a quote that swallows the rest of the
script, a ``;`` in a comment ends the statement there, and a backslash escapes the next
character. ``hive -f`` happens to drop lines that start with ``--``; ``-e`` and beeline
do not. So no rendered comment carries any of these characters (``comment_text``), and
``split_like_hive_cli`` reproduces the CLI's cut so that tests (and ``lookalike-sql
sql``) can tell whether a statement reaches Hive whole.
"""

from __future__ import annotations

import re

#: Characters the Hive CLI's splitter reads as quotes, separators or escapes.
CONSOLE_UNSAFE = "'\";\\"
#: What each becomes in a comment: a look-alike that the splitter ignores.
_STAND_INS = str.maketrans({"'": "\u2019", '"': "\u201d", ";": ",", "\\": "/"})


def comment_text(value: object) -> str:
    """A value as it may appear in a ``--`` comment: whitespace runs (line breaks, tabs,
    U+2028 and the like included) folded into one space, so it stays on its line, and
    the console's quote, separator and escape characters replaced by look-alikes."""
    return " ".join(str(value).split()).translate(_STAND_INS)


def split_like_hive_cli(script: str) -> list[str]:
    """The statements the Hive CLI would run for ``script`` (CliDriver.splitSemiColon in
    Hive 2.3: quotes toggle unless escaped by a backslash, a ``;`` outside quotes ends a
    statement; comments are not special), blank pieces dropped."""
    pieces, start = [], 0
    single = double = escape = False
    for i, c in enumerate(script):
        if c == "'" and not escape and not double:
            single = not single
        elif c == '"' and not escape and not single:
            double = not double
        elif c == ";" and not (single or double):
            pieces.append(script[start:i])
            start = i + 1
        escape = (not escape) and c == "\\"
    pieces.append(script[start:])
    return [p for p in pieces if p.strip()]


_COMMENT = re.compile(r"--[^\n]*")
_LITERAL_OR_NAME = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`")


def comment_problems(sql: str) -> list[str]:
    """The ``--`` comments of ``sql`` (outside literals and quoted names) that hold a
    character the Hive CLI or beeline would misread, one line per comment."""
    problems = []
    code = _LITERAL_OR_NAME.sub(lambda m: " " * len(m.group(0)), sql)  # same offsets, no quoted text
    for found in _COMMENT.finditer(code):
        text = sql[found.start() : found.end()]
        bad = sorted({c for c in text if c in CONSOLE_UNSAFE})
        if bad:
            line = sql.count("\n", 0, found.start()) + 1
            problems.append(f"line {line}: the comment holds {' '.join(repr(c) for c in bad)}, which the Hive CLI reads as a quote, a statement end or an escape")
    return problems


def console_problems(sql: str) -> list[str]:
    """Why ``sql`` (one statement) would not reach Hive whole through ``hive -e`` or
    beeline: unsafe comments, or a cut into more than one statement (a quote, ``;`` or
    backslash in a name or a query that the splitter misreads)."""
    problems = comment_problems(sql)
    pieces = split_like_hive_cli(sql)
    if len(pieces) != 1:
        problems.append(
            f"the Hive CLI would cut the statement into {len(pieces)} pieces at its ';' "
            "(a quote, ';' or backslash in a table or column name, or in a seed query): use names without them, in a view"
        )
    return problems
