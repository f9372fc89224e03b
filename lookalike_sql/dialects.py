"""The SQL dialects: what differs between warehouses, described in one place.

Each dialect is a small declarative record (quoting, literal rules, limits, the
constructs its real warehouse lacks) plus one Jinja macro file ``dialects/<name>.sql.j2``
that overrides only the macros where its SQL differs. Macros are looked up dbt-style:
``<dialect>.<macro>``, then ``default.<macro>``; a missing macro is an error that lists
every name searched. Adding a dialect = one record here + one macro file + its tests.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass, field

from .errors import InputError


@dataclass(frozen=True)
class Dialect:
    name: str
    #: sqlglot's name for the dialect, used to parse (validate) rendered SQL.
    sqlglot_name: str
    #: Character that quotes identifiers; doubled inside a quoted name.
    identifier_quote: str
    #: How a single quote is escaped inside a string literal: "''" (SQL standard) or "\\'".
    string_quote_escape: str
    #: Name of the 8-byte float type.
    double_type: str
    #: Name of the variable-length text type (what an id is cast to before hashing).
    text_type: str
    #: Most columns one SELECT may produce (None = no practical limit).
    max_columns: int | None
    #: Seeds of Python ids up to this many are inlined as an IN list; larger ones are
    #: loaded into a temporary table by ``execute()``.
    max_inline_ids: int
    #: A value-based seed of Python ids (id, value rows) up to this many is inlined as literal
    #: rows; ``execute()`` loads a larger one into a temporary table, and ``sql()`` refuses it.
    #: Lower than max_inline_ids on Redshift: PostgreSQL plans a UNION ALL of n rows in about
    #: n^2 time (1,000 rows 0.5 s, 5,000 rows 22 s, 10,000 rows 166 s).
    max_inline_rows: int
    #: Constructs the real warehouse lacks although the stand-in engine runs them:
    #: (regular expression over the rendered SQL, explanation). See lint.py.
    forbidden: tuple[tuple[str, str], ...] = field(default=())
    #: One-line description of what the SQL relies on, for the README and --help.
    requires: str = ""
    #: How a wide population is profiled and ranked in one statement: "one_row" (wide one-row
    #: aggregates, one expression per feature and bin: cheap on a single-node or columnar
    #: engine) or "unpivot" (each customer's features unpivoted to rows and grouped by
    #: feature: the statement's size, planning time and reads of the population do not grow
    #: with the number of features on Hive and Spark; see templates/_profile_unpivot.sql.j2).
    wide_profile: str = "one_row"
    #: execute() reads a wide population's ranges in a statement of their own first (a
    #: sample is drawn into a temporary table before), and its profile statement carries
    #: them as numbers and counts the bins with the dialect's ``bin_counts_by_feature``
    #: macro (DuckDB: see templates/ranges.sql.j2).
    ranges_first: bool = False
    #: Text the engine rewrites before parsing, anywhere in the statement (Hive's and
    #: Spark's ${...} variable substitution): refused in names, literals and queries.
    substituted: str | None = None
    #: Largest statement the warehouse accepts, in bytes of UTF-8 (None = none documented).
    #: See render.check_statement_size.
    max_statement_bytes: int | None = None
    #: Rules over the parsed statement that the real warehouse needs although the stand-in
    #: engine does without: names of the functions in lint.RULES.
    rules: tuple[str, ...] = ()
    #: Words that may not be an unquoted column alias, table alias or CTE name.
    reserved_words: frozenset[str] = frozenset()
    #: Further words that may not be an unquoted table alias.
    reserved_table_aliases: frozenset[str] = frozenset()

    def check_text(self, text: str, what: str) -> None:
        if self.substituted and self.substituted in text:
            raise InputError(
                f"{what} {text[:60]!r} contains {self.substituted!r}, which {self.name} replaces by a variable's value "
                "before running the SQL: rename it (or write the value itself)"
            )

    def quote(self, name: str) -> str:
        """Quote one identifier part (table, column), after checking it is sane."""
        check_identifier(name)
        self.check_text(name, "the name")
        q = self.identifier_quote
        return q + name.replace(q, q + q) + q

    def quote_table(self, table: str | tuple[str, ...]) -> str:
        """Quote a possibly qualified table name: 'schema.table' or ('schema', 'table')."""
        return ".".join(self.quote(part) for part in split_table_name(table))

    def string_literal(self, value: str) -> str:
        # A backslash is an escape in Redshift's and Hive's literals but not in
        # PostgreSQL's or DuckDB's, so no one spelling of it works everywhere.
        if any(_unwritable(c) for c in value) or "\\" in value:
            raise InputError(
                f"the text {value!r} contains a control character, a line separator or a backslash, which "
                "cannot be written portably as an SQL literal: rename it"
            )
        self.check_text(value, "the text")
        return "'" + value.replace("'", self.string_quote_escape) + "'"

    def text_column(self, value: str) -> str:
        """A text literal that becomes a column (of literal rows, say), CAST to the text
        type: Redshift keeps an untyped literal as type ``unknown``, which later fails to
        group, order or union ("failed to find conversion function from unknown to text").
        https://docs.aws.amazon.com/redshift/latest/dg/c_Supported_data_types.html"""
        return f"CAST({self.string_literal(value)} AS {self.text_type})"

    def float_literal(self, value: float) -> str:
        value = float(value)
        if not math.isfinite(value):
            raise InputError(f"the number {value} is not finite and cannot be written as an SQL literal")
        return f"CAST({value!r} AS {self.double_type})"

    def nullable_float_literal(self, value: float | None) -> str:
        """A number as float_literal gives it, or a typed NULL for None (or NaN, pandas' NULL)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return f"CAST(NULL AS {self.double_type})"
        return self.float_literal(value)

    def id_literal(self, value: object) -> str:
        """A customer id as a literal: integers as they are, strings quoted."""
        if isinstance(value, bool):
            raise InputError(f"customer id {value!r} is a boolean: ids must be integers or strings")
        if isinstance(value, (int,)) or (hasattr(value, "dtype") and value.dtype.kind in "iu"):
            return str(int(value))  # type: ignore[arg-type]
        if isinstance(value, str):
            return self.string_literal(value)
        raise InputError(f"customer id {value!r} is a {type(value).__name__}: ids must be integers or strings")


_IDENTIFIER_MAX = 127  # Redshift's limit, the smallest of the three


def _unwritable(c: str) -> bool:
    """A character no name or text literal may hold: a control character (C0, DEL, C1),
    a lone surrogate (not valid UTF-8), or a Unicode line or paragraph separator. The
    rendered SQL is split into lines (render.tidy, str.splitlines) and read by line-based
    tools, so U+0085, U+2028 or U+2029 inside a name would end a ``--`` comment that
    shows the name and turn the rest of the name into SQL."""
    return unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")


def check_identifier(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise InputError(f"identifier {name!r} is empty or not a string: name a table or column")
    if any(_unwritable(c) for c in name):
        raise InputError(f"identifier {name!r} contains a control character or a line separator: rename it")
    if len(name.encode("utf-8")) > _IDENTIFIER_MAX:
        raise InputError(f"identifier {name[:40]!r}... is longer than {_IDENTIFIER_MAX} bytes: shorten it")


def split_table_name(table: str | tuple[str, ...]) -> tuple[str, ...]:
    """'db.schema.table' -> parts. Names containing dots must be passed as a tuple."""
    parts = tuple(table) if isinstance(table, (tuple, list)) else tuple(str(table).split("."))
    if not 1 <= len(parts) <= 3:
        raise InputError(f"table name {table!r} must be 'table', 'schema.table' or 'catalog.schema.table'")
    for part in parts:
        check_identifier(part)
    return parts


# Hive 2/3 lacks these although Spark SQL (its stand-in here) runs them.
_HIVE_FORBIDDEN = (
    (r"\bUNPIVOT\b", "UNPIVOT is not in Hive 2/3 (use LATERAL VIEW stack)"),
    (r"\bVALUES\s*\(", "VALUES as a table is not in Hive before 4.0"),
    (r"\bQUALIFY\b", "QUALIFY is not in Hive before 4.0"),
    (r"\bWITHIN\s+GROUP\b", "WITHIN GROUP is not in Hive before 4.0"),
    (r"\bWIDTH_BUCKET\b", "WIDTH_BUCKET is not in Hive 2"),
    (r"\bRECURSIVE\b", "recursive CTEs are not in Hive"),
    (r"\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b", "IS DISTINCT FROM is not in Hive 2/3"),
    (r"\bLOG2\s*\(", "use LN(x) / LN(2): LOG2 is spelled differently across warehouses"),
    (r"\bRAISE_ERROR\s*\(", "raise_error is Spark-only, Hive has assert_true"),
)

# Redshift lacks these although PostgreSQL (its stand-in here) runs them.
_REDSHIFT_FORBIDDEN = (
    (r"\bWIDTH_BUCKET\b", "WIDTH_BUCKET is not supported by Redshift"),
    (r"\bCORR\s*\(", "CORR is not supported by Redshift"),
    (r"\bCOVAR_(POP|SAMP)\s*\(", "COVAR_POP/COVAR_SAMP are not supported by Redshift"),
    (r"\bGENERATE_SERIES\s*\(", "generate_series is leader-node only on Redshift"),
    (r"\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b", "IS DISTINCT FROM is not supported by Redshift"),
    (r"\bTABLESAMPLE\b", "TABLESAMPLE is not supported by Redshift"),
    (r"\bLOG2\s*\(", "Redshift has no LOG2: use LN(x) / LN(2)"),
    (r"\bVALUES\s*\(", "VALUES as a table is not reliably supported by Redshift"),
    (r"\bLATERAL\b", "LATERAL joins are not supported by Redshift"),
    (r"::", "PostgreSQL-style :: casts: use CAST(... AS ...)"),
    (r"\bFILTER\s*\(\s*WHERE\b", "aggregate FILTER clauses are not supported by Redshift"),
)

#: Amazon Redshift's reserved words, copied from the Database Developer Guide's list:
#: https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html
#: "You can use the reserved words with delimited identifiers (double quotation marks)."
REDSHIFT_RESERVED_WORDS = frozenset(
    """
    AES128 AES256 ALL ALLOWOVERWRITE ANALYSE ANALYZE AND ANY ARRAY AS ASC AUTHORIZATION AZ64
    BACKUP BETWEEN BINARY BLANKSASNULL BOTH BYTEDICT BZIP2 CASE CAST CHECK COLLATE COLUMN
    CONSTRAINT CREATE CREDENTIALS CROSS CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER
    CURRENT_USER_ID DEFAULT DEFERRABLE DEFLATE DEFRAG DELTA DELTA32K DESC DISABLE DISTINCT DO
    ELSE EMPTYASNULL ENABLE ENCODE ENCRYPT ENCRYPTION END EXCEPT EXPLICIT FALSE FOR FOREIGN
    FREEZE FROM FULL GLOBALDICT256 GLOBALDICT64K GRANT GROUP GZIP HAVING IDENTITY IGNORE ILIKE
    IN INITIALLY INNER INTERSECT INTERVAL INTO IS ISNULL JOIN LEADING LEFT LIKE LIMIT LOCALTIME
    LOCALTIMESTAMP LUN LUNS LZO LZOP MINUS MOSTLY16 MOSTLY32 MOSTLY8 NATURAL NEW NOT NOTNULL
    NULL NULLS OFF OFFLINE OFFSET OID OLD ON ONLY OPEN OR ORDER OUTER OVERLAPS PARALLEL
    PARTITION PERCENT PERMISSIONS PIVOT PLACING PRIMARY RAW READRATIO RECOVER REFERENCES
    REJECTLOG RESORT RESPECT RESTORE RIGHT SELECT SESSION_USER SIMILAR SNAPSHOT SOME SYSDATE
    SYSTEM TABLE TAG TDES TEXT255 TEXT32K THEN TIMESTAMP TO TOP TRAILING TRUE TRUNCATECOLUMNS
    UNION UNIQUE UNNEST UNPIVOT USER USING VERBOSE WALLET WHEN WHERE WITH WITHOUT
    """.split()
)

#: The same page: "While START and CONNECT are not reserved words, use delimited identifiers
#: or AS if you're using START and CONNECT as table aliases in your query to avoid failure
#: at runtime." The lint asks for the delimited (quoted) form.
REDSHIFT_RESERVED_TABLE_ALIASES = frozenset({"START", "CONNECT"})

#: "The maximum size for a single Amazon Redshift SQL statement is 16 MB."
#: https://docs.aws.amazon.com/redshift/latest/dg/c_redshift-sql.html (also on
#: https://docs.aws.amazon.com/redshift/latest/dg/c_SQL_commands.html). Read as MiB.
REDSHIFT_MAX_STATEMENT_BYTES = 16 * 1024 * 1024

DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect(
            name="duckdb",
            sqlglot_name="duckdb",
            identifier_quote='"',
            string_quote_escape="''",
            double_type="DOUBLE",
            text_type="VARCHAR",
            max_columns=None,
            max_inline_ids=10_000,
            max_inline_rows=10_000,
            requires="DuckDB 1.0 or later",
            ranges_first=True,
            # DuckDB's limits page lists none for a statement's text (its "String size 4 GB"
            # is a value's): https://duckdb.org/docs/stable/operations_manual/limits
            max_statement_bytes=None,
        ),
        Dialect(
            name="redshift",
            sqlglot_name="redshift",
            identifier_quote='"',
            string_quote_escape="''",
            double_type="DOUBLE PRECISION",
            text_type="VARCHAR",
            # PostgreSQL refuses target lists over 1,664 entries; Redshift tables stop at 1,600.
            max_columns=1600,
            max_inline_ids=10_000,
            max_inline_rows=1_000,
            forbidden=_REDSHIFT_FORBIDDEN,
            requires="Amazon Redshift (any current release); runs as well on PostgreSQL 12+",
            max_statement_bytes=REDSHIFT_MAX_STATEMENT_BYTES,
            rules=("text-literal-columns", "with-inside-cte", "reserved-aliases"),
            reserved_words=REDSHIFT_RESERVED_WORDS,
            reserved_table_aliases=REDSHIFT_RESERVED_TABLE_ALIASES,
        ),
        Dialect(
            name="hive",
            sqlglot_name="hive",
            identifier_quote="`",
            string_quote_escape="\\'",
            double_type="DOUBLE",
            text_type="STRING",
            max_columns=None,
            max_inline_ids=1_000,
            max_inline_rows=1_000,
            forbidden=_HIVE_FORBIDDEN,
            substituted="${",
            wide_profile="unpivot",
            requires="Hive 2.3+ (CTEs, window functions, stack(), inline()) or Spark SQL 3.x/4.x",
            # Neither Hive's LanguageManual nor Spark SQL's reference documents a limit on a
            # statement's size (HiveServer2's Thrift message-size settings bound a request,
            # and are configurable).
            max_statement_bytes=None,
            rules=("with-heading-cte", "cartesian-products"),
        ),
    )
}


def get_dialect(name: str | Dialect) -> Dialect:
    if isinstance(name, Dialect):
        return name
    key = str(name).lower()
    if key == "postgres" or key == "postgresql":
        key = "redshift"  # PostgreSQL runs the Redshift SQL (it is the stand-in engine)
    if key == "spark":
        key = "hive"  # Spark SQL runs the Hive SQL
    if key not in DIALECTS:
        close = difflib.get_close_matches(key, DIALECTS, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise InputError(f"unknown dialect {name!r}: choose one of {', '.join(DIALECTS)}.{hint}")
    return DIALECTS[key]


_SAFE_ALIAS = re.compile(r"^[a-z_][a-z0-9_]*$")


def is_plain_identifier(name: str) -> bool:
    """True when a name needs no quoting anywhere (lower-case letters, digits, _)."""
    return bool(_SAFE_ALIAS.match(name))
