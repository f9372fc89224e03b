"""The lint rules over the parsed statement (lint.RULES), the statement-size check and the
hoisting of a user query's CTEs: each rule fires on a minimal example and stays quiet on
the fixed one. No engine needed."""

from __future__ import annotations

import pytest
import sqlglot

from lookalike_sql.dialects import DIALECTS, REDSHIFT_MAX_STATEMENT_BYTES, REDSHIFT_RESERVED_WORDS, get_dialect
from lookalike_sql.errors import InputError
from lookalike_sql.lint import RULES, cartesian_products, lint
from lookalike_sql.render import check_statement_size
from lookalike_sql.validate import hoist_ctes


def problems(sql: str, dialect: str, word: str) -> list[str]:
    """The lint's problems for ``sql`` that mention ``word``."""
    return [p for p in lint(sql, dialect) if word in p]


def test_every_dialect_names_known_rules():
    for d in DIALECTS.values():
        assert set(d.rules) <= set(RULES), d.name
    assert get_dialect("redshift").rules and get_dialect("hive").rules and not get_dialect("duckdb").rules


# ------------------------------------------------------------------ text literals as columns
@pytest.mark.parametrize(
    "sql, count",
    [
        ("SELECT 'a' AS x FROM t", 1),
        ("SELECT 'a' FROM t", 1),
        ("SELECT 'a' x, ('b') AS y FROM t", 2),
        ("SELECT x FROM (SELECT 1 AS i, 'a' AS x UNION ALL SELECT 2 AS i, 'b' AS x) f GROUP BY x", 2),
        ("WITH c AS (SELECT 'a' AS x) SELECT x FROM c ORDER BY x", 1),
    ],
)
def test_text_literal_columns_fire_on_redshift(sql, count):
    found = problems(sql, "redshift", "text literal")
    assert len(found) == count, found
    assert all("CAST(" in p and "unknown" in p for p in found)


def test_text_literal_problem_names_its_line():
    sql = "SELECT\n  1 AS i,\n  'age000' AS feature\nFROM t"
    assert problems(sql, "redshift", "text literal") == [
        "redshift: line 3: the text literal 'age000' is a column of unknown type on Redshift (grouping, ordering or "
        "unioning it fails): write CAST('age000' AS VARCHAR(n))"
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT CAST('a' AS VARCHAR(6)) AS x FROM t",
        "SELECT x FROM t WHERE y = 'b' AND z IN ('c', 'd')",
        "SELECT CASE WHEN y = 'b' THEN 1 ELSE 0 END AS k, UPPER('a') AS u, 'a' || y AS v FROM t",
        # all results unknown: PostgreSQL 8's UNION/CASE rule resolves the CASE as text
        "SELECT CASE WHEN y > 0 THEN 'pos' ELSE 'neg' END AS sign FROM t GROUP BY 1",
        "SELECT x FROM (SELECT CAST('a' AS VARCHAR(1)) AS x UNION ALL SELECT CAST('b' AS VARCHAR(1)) AS x) f",
    ],
)
def test_text_literal_columns_quiet_when_typed_or_inside_an_expression(sql):
    assert lint(sql, "redshift") == []


@pytest.mark.parametrize("dialect", ["duckdb", "hive"])
def test_text_literal_columns_only_on_redshift(dialect):
    assert lint("SELECT 'a' AS x FROM t", dialect) == []


# ------------------------------------------------------------------ WITH inside a CTE
HEADING = "WITH a AS (WITH b AS (SELECT 1 AS x) SELECT x FROM b) SELECT x FROM a"
IN_FROM = "WITH a AS (SELECT x FROM (WITH b AS (SELECT 1 AS x) SELECT x FROM b) s) SELECT x FROM a"
FLAT = "WITH b AS (SELECT 1 AS x), a AS (SELECT x FROM b) SELECT x FROM a"


@pytest.mark.parametrize("dialect", ["redshift", "hive"])
def test_with_heading_a_cte_fires(dialect):
    found = problems(HEADING, dialect, "another WITH")
    assert len(found) == 1 and "line 1" in found[0] and "'a'" in found[0] and "top-level WITH" in found[0]


def test_with_in_a_from_subquery_of_a_cte_fires_on_redshift_only():
    assert len(problems(IN_FROM, "redshift", "another WITH")) == 1  # "inside a WITH clause subquery"
    assert lint(IN_FROM, "hive") == []  # runs on Hive 2.3.9


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_with_rules_quiet_on_flat_ctes(dialect):
    assert lint(FLAT, dialect) == []
    # Redshift allows a WITH in a subquery of the main SELECT (not inside a CTE)
    assert lint("SELECT x FROM (WITH b AS (SELECT 1 AS x) SELECT x FROM b) s", dialect) == []


def test_with_rules_not_on_duckdb():
    assert lint(HEADING, "duckdb") == [] and lint(IN_FROM, "duckdb") == []


# ------------------------------------------------------------------ reserved words as aliases
@pytest.mark.parametrize(
    "sql, what",
    [
        ("SELECT x AS raw FROM t", "column alias raw"),
        ("SELECT x tag FROM t", "column alias tag"),
        ("SELECT o.x FROM t AS o JOIN u AS top ON o.k = top.k", "table alias top"),
        ("WITH raw AS (SELECT 1 AS x) SELECT x FROM raw", "CTE name raw"),
        ("SELECT s.x FROM t AS start", "table alias start"),
    ],
)
def test_reserved_words_as_bare_aliases_fire_on_redshift(sql, what):
    found = problems(sql, "redshift", "reserved word")
    assert len(found) == 1 and what in found[0] and "quote it as" in found[0], found


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT x AS "raw", y AS raw_1 FROM t AS "offset"',
        'WITH "raw" AS (SELECT 1 AS x) SELECT x FROM "raw"',
        "SELECT x AS start FROM t",  # START is only a table alias to avoid
        "SELECT t.offset_days FROM t",
    ],
)
def test_reserved_words_quiet_when_quoted_or_not_reserved(sql):
    assert problems(sql, "redshift", "reserved word") == []


def test_reserved_words_list_follows_the_documentation():
    assert {"RAW", "OFFSET", "TAG", "TOP", "PARTITION", "PIVOT", "UNPIVOT", "WALLET"} <= REDSHIFT_RESERVED_WORDS
    assert "START" not in REDSHIFT_RESERVED_WORDS and len(REDSHIFT_RESERVED_WORDS) == 156
    assert lint("SELECT x AS raw FROM t", "duckdb") == []


# ------------------------------------------------------------------ cartesian products
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a.x FROM a CROSS JOIN b",
        "SELECT a.x FROM a, b",
        "SELECT a.x FROM a JOIN b",
        "SELECT a.x FROM a JOIN b ON 1 = 1",
        "SELECT a.x FROM a JOIN b ON TRUE",
        "SELECT a.x FROM a LEFT JOIN b ON TRUE",
        "SELECT a.x FROM a JOIN b ON a.k > b.k",
        "SELECT a.x FROM a JOIN b ON a.k = 1",
        "SELECT a.x FROM a JOIN b ON a.k = b.k OR a.j = b.j",
        "SELECT a.x FROM a JOIN b ON a.k = a.j",
        "SELECT a.x FROM a JOIN (SELECT 1 AS k) c ON a.k > c.k",
    ],
)
def test_cartesian_products_fire_on_hive(sql):
    found = problems(sql, "hive", "cartesian product")
    assert len(found) == 1 and "line 1" in found[0] and "hive.strict.checks.cartesian.product" in found[0], found


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a.x FROM a JOIN b ON a.k = b.k",
        "SELECT a.x FROM a JOIN b ON (a.k = b.k AND b.v > 0)",
        "SELECT a.x FROM a LEFT JOIN b ON b.k = a.k AND a.v = 1",
        "SELECT a.x FROM a JOIN b USING (k)",
        "SELECT a.x FROM a JOIN (SELECT 1 AS k, MAX(v) AS m FROM c) st ON a.k = st.k",
        "SELECT a.x, v FROM a LATERAL VIEW explode(a.arr) e AS v",
        "SELECT x FROM a JOIN b ON k = j",  # unqualified: given the benefit of the doubt
    ],
)
def test_cartesian_products_quiet_on_equi_joins_and_lateral_views(sql):
    assert lint(sql, "hive") == []


def test_cartesian_rule_is_reusable_for_another_dialect():
    tree = sqlglot.parse_one("SELECT a.x FROM a CROSS JOIN b", read="duckdb")
    assert len(cartesian_products(tree, get_dialect("duckdb"))) == 1
    assert lint("SELECT a.x FROM a CROSS JOIN b", "duckdb") == []  # not registered there


def test_cartesian_problem_names_the_line_of_the_joined_table():
    sql = "SELECT p.x\nFROM p\nCROSS JOIN stats st\nWHERE p.x > st.lo"
    [found] = problems(sql, "hive", "cartesian")
    assert found.startswith("hive: line 3: CROSS JOIN st")


# ------------------------------------------------------------------ the existing lint still works
def test_regex_list_and_parse_check_still_work():
    assert any("WIDTH_BUCKET" in p for p in lint("SELECT WIDTH_BUCKET(x, 0, 1, 10) AS b FROM t", "redshift"))
    assert any("found 2" in p for p in lint("SELECT 1; SELECT 2", "redshift"))
    assert lint("SELECT * FROM t UNPIVOT (v FOR k IN (a, b))", "hive", parse=False) != []


# ------------------------------------------------------------------ statement size
def test_statement_size_limits_per_dialect():
    assert get_dialect("redshift").max_statement_bytes == REDSHIFT_MAX_STATEMENT_BYTES == 16 * 2**20
    assert get_dialect("hive").max_statement_bytes is None and get_dialect("duckdb").max_statement_bytes is None


def test_statement_over_16_mib_is_refused_on_redshift():
    check_statement_size("x" * REDSHIFT_MAX_STATEMENT_BYTES, "redshift")  # at the limit: fine
    with pytest.raises(InputError) as caught:
        check_statement_size("x" * (REDSHIFT_MAX_STATEMENT_BYTES + 1), "redshift")
    message = str(caught.value)
    assert "\n" not in message and "16.0 MiB" in message and "limit of 16 MiB" in message
    assert "fewer bins, a long table, or fewer candidate features (--features)" in message


def test_statement_size_counts_utf8_bytes():
    text = "가" * (REDSHIFT_MAX_STATEMENT_BYTES // 3 + 1)  # 3 bytes each: fewer characters than the limit
    with pytest.raises(InputError):
        check_statement_size(text, "redshift")


@pytest.mark.parametrize("dialect", ["duckdb", "hive"])
def test_statement_size_unchecked_without_a_documented_limit(dialect):
    check_statement_size("x" * (REDSHIFT_MAX_STATEMENT_BYTES + 1), dialect)


# ------------------------------------------------------------------ hoisting a query's CTEs
def assembled(ctes: list[tuple[str, str]], select: str) -> str:
    """The hoisted query put back together, as the statement's WITH would hold it."""
    if not ctes:
        return select
    return "WITH " + ",\n".join(f"{name} AS (\n{body}\n)" for name, body in ctes) + "\n" + select


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_hoisting_leaves_a_plain_query_untouched(dialect):
    query = "SELECT member_srl  FROM mart.t -- mothers\nWHERE x > 0"
    taken = {"seed_ids"}
    assert hoist_ctes(query, dialect, taken) == ([], query)
    assert taken == {"seed_ids"}


def test_hoisting_one_cte():
    taken = {"seed_ids"}
    ctes, select = hoist_ctes("WITH m AS (SELECT member_srl FROM mart.t WHERE x > 0) SELECT member_srl FROM m", "redshift", taken)
    assert ctes == [("m", "SELECT member_srl FROM mart.t WHERE x > 0")]
    assert select == "SELECT member_srl FROM m"
    assert taken == {"seed_ids", "m"}


def test_hoisting_two_ctes_keeps_their_order_when_one_reads_the_other():
    query = "WITH a AS (SELECT id, v FROM t), b AS (SELECT id FROM a WHERE v > 1) SELECT id FROM b"
    ctes, select = hoist_ctes(query, "duckdb", set())
    assert [name for name, _ in ctes] == ["a", "b"]
    assert ctes[1][1] == "SELECT id FROM a WHERE v > 1" and select == "SELECT id FROM b"


@pytest.mark.parametrize("taken", [{"seed_ids", "b"}, {"SEED_IDS", "B"}])
def test_hoisting_refuses_a_name_the_statement_uses(taken):
    with pytest.raises(InputError) as caught:
        hoist_ctes("WITH a AS (SELECT 1 AS id), b AS (SELECT id FROM a) SELECT id FROM b", "hive", taken)
    message = str(caught.value)
    assert "\n" not in message and "'b'" in message and "rename" in message
    assert taken in ({"seed_ids", "b"}, {"SEED_IDS", "B"})  # unchanged on failure


def test_hoisting_refuses_a_name_another_query_brought():
    taken = {"seed_ids"}
    hoist_ctes("WITH recent AS (SELECT id FROM t) SELECT id FROM recent", "redshift", taken)
    with pytest.raises(InputError, match="'Recent'.*rename the CTE in the exclusion query"):
        hoist_ctes('WITH "Recent" AS (SELECT id FROM u) SELECT id FROM "Recent"', "redshift", taken, role="exclusion")


@pytest.mark.parametrize(
    "dialect, query, names",
    [
        ("duckdb", 'WITH "Big Spenders" AS (SELECT id FROM o WHERE amount::INT > 100) SELECT id FROM "Big Spenders"', ['"Big Spenders"']),
        ("redshift", 'WITH "Mom" AS (SELECT "Member_Srl" FROM t WHERE n = \'o\'\'brien\' AND d > GETDATE() - 7) SELECT "Member_Srl" FROM "Mom"', ['"Mom"']),
        ("hive", "WITH `Mom` AS (SELECT `Member_Srl` FROM t WHERE n = 'o\\'b' AND dt >= '2024-01-01') SELECT `Member_Srl` FROM `Mom`", ["`Mom`"]),
    ],
)
def test_hoisting_round_trips_quoted_names_and_literals(dialect, query, names):
    ctes, select = hoist_ctes(query, dialect, set())
    assert [name for name, _ in ctes] == names
    read = get_dialect(dialect).sqlglot_name
    assert sqlglot.parse_one(assembled(ctes, select), read=read) == sqlglot.parse_one(query, read=read)
    if dialect == "redshift":
        assert "'o''brien'" in ctes[0][1] and "\\" not in ctes[0][1]  # PostgreSQL reads it the same


def test_hoisted_ctes_place_in_a_statement_that_lints_clean():
    query = "WITH a AS (SELECT id FROM t), b AS (SELECT id FROM a) SELECT id FROM b"
    for dialect in ("redshift", "hive"):
        ctes, select = hoist_ctes(query, dialect, {"seed_ids"})
        heads = "".join(f"{name} AS (\n{body}\n),\n" for name, body in ctes)
        statement = f"WITH {heads}seed_ids AS (\nSELECT DISTINCT s.id FROM (\n{select}\n) s\n)\nSELECT id FROM seed_ids"
        assert lint(statement, dialect) == []
        assert lint(f"WITH seed_ids AS (\n{query}\n)\nSELECT id FROM seed_ids", dialect) != []  # pasted as a CTE's body
    pasted_in_from = f"WITH seed_ids AS (\nSELECT s.id FROM (\n{query}\n) s\n)\nSELECT id FROM seed_ids"
    assert lint(pasted_in_from, "redshift") != [] and lint(pasted_in_from, "hive") == []


def test_hoisting_leaves_a_with_in_a_from_subquery_on_hive_and_refuses_it_on_redshift():
    query = "WITH s AS (SELECT id FROM (WITH x AS (SELECT 1 AS id) SELECT id FROM x) q) SELECT id FROM s"
    ctes, _ = hoist_ctes(query, "hive", set())
    assert ctes == [("s", "SELECT id FROM (WITH x AS (SELECT 1 AS id) SELECT id FROM x) AS q")]
    with pytest.raises(InputError, match="WITH inside a subquery.*leading WITH"):
        hoist_ctes(query, "redshift", set())
    with pytest.raises(InputError, match="WITH inside a subquery"):
        hoist_ctes("SELECT id FROM (WITH x AS (SELECT 1 AS id) SELECT id FROM x) q", "redshift", set())


@pytest.mark.parametrize(
    "dialect, query, match",
    [
        ("hive", "WITH s AS (WITH x AS (SELECT 1 AS id) SELECT id FROM x) SELECT id FROM s", "'s' holds another WITH"),
        ("duckdb", "WITH RECURSIVE r AS (SELECT 1 AS id) SELECT id FROM r", "WITH RECURSIVE"),
        ("redshift", "WITH r(id) AS (SELECT 1) SELECT id FROM r", "name the columns in its SELECT"),
    ],
)
def test_hoisting_refuses_what_cannot_move(dialect, query, match):
    with pytest.raises(InputError, match=match):
        hoist_ctes(query, dialect, set())
