-- lookalike-sql VERSION (duckdb): the lookalike audience as one statement
-- What it computes: profiles each feature against the seed (JS divergence of histograms), weighs the most divergent, ranks
--   customers by weighted distance to the seed mean, returns the top 30000 ids not in the seed with rank and distance
-- Rendered: YYYY-MM-DD (UTC)
-- Population: mart.population (wide), id member_srl, 3 candidate features
-- Seed: table mart.mom_seed, column member_srl
-- Parameters: size 30000, max_features 20, threshold 0.05, bins 10, min_count 30, exclude_seed true, profile sample everyone
-- Stages: seed -> population -> profile -> select -> rank -> top-n
WITH
seed_ids AS (
  -- stage: seed, distinct non-NULL ids
  SELECT DISTINCT seed_source.seed_id
  FROM (
    SELECT "member_srl" AS seed_id
    FROM "mart"."mom_seed"
  ) seed_source
  WHERE seed_source.seed_id IS NOT NULL
),
population_size AS (
  -- stage: population, its size, and whether its ids are sound (checked before use)
  SELECT
    1 AS one_key,
    COUNT(*) AS n_population,
    COUNT(*) - COUNT(p."member_srl") AS n_null_ids,
    COUNT(p."member_srl") - COUNT(DISTINCT p."member_srl") AS n_duplicate_ids,
    0 AS repeated_pairs
  FROM "mart"."population" p
),
pop_range_1 AS (
  -- stage: profile, pass 1 over the profiled customers: range, count and mean per feature
  SELECT
    1 AS one_key,
    COUNT(*) AS n_profiled,
    MIN(CAST(p."age000" AS DOUBLE)) AS lo_1, MAX(CAST(p."age000" AS DOUBLE)) AS hi_1, NULLIF(MAX(CAST(p."age000" AS DOUBLE)) - MIN(CAST(p."age000" AS DOUBLE)), 0) AS width_1,
    COUNT(p."age000") AS pop_count_1,
    COALESCE(SUM(CAST(p."age000" AS DOUBLE)), 0) / NULLIF(COUNT(*), 0) AS mean_1,
    MIN(CAST(p."sex000" AS DOUBLE)) AS lo_2, MAX(CAST(p."sex000" AS DOUBLE)) AS hi_2, NULLIF(MAX(CAST(p."sex000" AS DOUBLE)) - MIN(CAST(p."sex000" AS DOUBLE)), 0) AS width_2,
    COUNT(p."sex000") AS pop_count_2,
    COALESCE(SUM(CAST(p."sex000" AS DOUBLE)), 0) / NULLIF(COUNT(*), 0) AS mean_2,
    MIN(CAST(p."gpo015" AS DOUBLE)) AS lo_3, MAX(CAST(p."gpo015" AS DOUBLE)) AS hi_3, NULLIF(MAX(CAST(p."gpo015" AS DOUBLE)) - MIN(CAST(p."gpo015" AS DOUBLE)), 0) AS width_3,
    COUNT(p."gpo015") AS pop_count_3,
    COALESCE(SUM(CAST(p."gpo015" AS DOUBLE)), 0) / NULLIF(COUNT(*), 0) AS mean_3
  FROM "mart"."population" p
),
pop_hist_1 AS (
  -- stage: profile, pass 2: standard deviation and equal-width histograms
  SELECT
    1 AS one_key,
    SQRT(SUM((dev_1) * (dev_1)) / NULLIF(COUNT(*), 0)) AS std_1,
    count_if(raw_1 <= 0) AS p_1_0,
    count_if(raw_1 = 1) AS p_1_1,
    count_if(raw_1 = 2) AS p_1_2,
    count_if(raw_1 = 3) AS p_1_3,
    count_if(raw_1 = 4) AS p_1_4,
    count_if(raw_1 = 5) AS p_1_5,
    count_if(raw_1 = 6) AS p_1_6,
    count_if(raw_1 = 7) AS p_1_7,
    count_if(raw_1 = 8) AS p_1_8,
    count_if(raw_1 >= 9) AS p_1_9,
    SQRT(SUM((dev_2) * (dev_2)) / NULLIF(COUNT(*), 0)) AS std_2,
    count_if(raw_2 <= 0) AS p_2_0,
    count_if(raw_2 = 1) AS p_2_1,
    count_if(raw_2 = 2) AS p_2_2,
    count_if(raw_2 = 3) AS p_2_3,
    count_if(raw_2 = 4) AS p_2_4,
    count_if(raw_2 = 5) AS p_2_5,
    count_if(raw_2 = 6) AS p_2_6,
    count_if(raw_2 = 7) AS p_2_7,
    count_if(raw_2 = 8) AS p_2_8,
    count_if(raw_2 >= 9) AS p_2_9,
    SQRT(SUM((dev_3) * (dev_3)) / NULLIF(COUNT(*), 0)) AS std_3,
    count_if(raw_3 <= 0) AS p_3_0,
    count_if(raw_3 = 1) AS p_3_1,
    count_if(raw_3 = 2) AS p_3_2,
    count_if(raw_3 = 3) AS p_3_3,
    count_if(raw_3 = 4) AS p_3_4,
    count_if(raw_3 = 5) AS p_3_5,
    count_if(raw_3 = 6) AS p_3_6,
    count_if(raw_3 = 7) AS p_3_7,
    count_if(raw_3 = 8) AS p_3_8,
    count_if(raw_3 >= 9) AS p_3_9
  FROM (
    SELECT
      COALESCE(CAST(p."age000" AS DOUBLE), 0) - st.mean_1 AS dev_1,
      FLOOR((CAST(p."age000" AS DOUBLE) - st.lo_1) / st.width_1 * 10) AS raw_1,
      COALESCE(CAST(p."sex000" AS DOUBLE), 0) - st.mean_2 AS dev_2,
      FLOOR((CAST(p."sex000" AS DOUBLE) - st.lo_2) / st.width_2 * 10) AS raw_2,
      COALESCE(CAST(p."gpo015" AS DOUBLE), 0) - st.mean_3 AS dev_3,
      FLOOR((CAST(p."gpo015" AS DOUBLE) - st.lo_3) / st.width_3 * 10) AS raw_3
    FROM (SELECT 1 AS one_key, profiled.* FROM "mart"."population" profiled) p
    JOIN pop_range_1 st ON st.one_key = p.one_key
  ) binned
),
seed_stats_1 AS (
  -- stage: profile, histograms and mean value of the seed members (for the persona)
  SELECT
    1 AS one_key,
    COUNT(*) AS n_seed_found,
    COUNT(x_1) AS seed_count_1,
    count_if(raw_1 <= 0) AS q_1_0,
    count_if(raw_1 = 1) AS q_1_1,
    count_if(raw_1 = 2) AS q_1_2,
    count_if(raw_1 = 3) AS q_1_3,
    count_if(raw_1 = 4) AS q_1_4,
    count_if(raw_1 = 5) AS q_1_5,
    count_if(raw_1 = 6) AS q_1_6,
    count_if(raw_1 = 7) AS q_1_7,
    count_if(raw_1 = 8) AS q_1_8,
    count_if(raw_1 >= 9) AS q_1_9,
    AVG(COALESCE(x_1, 0)) AS seed_mean_1,
    -- the persona from the mean deviation, not seed mean - mean: no cancellation when both are close
    AVG(dev_1) AS seed_dev_1,
    COUNT(x_2) AS seed_count_2,
    count_if(raw_2 <= 0) AS q_2_0,
    count_if(raw_2 = 1) AS q_2_1,
    count_if(raw_2 = 2) AS q_2_2,
    count_if(raw_2 = 3) AS q_2_3,
    count_if(raw_2 = 4) AS q_2_4,
    count_if(raw_2 = 5) AS q_2_5,
    count_if(raw_2 = 6) AS q_2_6,
    count_if(raw_2 = 7) AS q_2_7,
    count_if(raw_2 = 8) AS q_2_8,
    count_if(raw_2 >= 9) AS q_2_9,
    AVG(COALESCE(x_2, 0)) AS seed_mean_2,
    -- the persona from the mean deviation, not seed mean - mean: no cancellation when both are close
    AVG(dev_2) AS seed_dev_2,
    COUNT(x_3) AS seed_count_3,
    count_if(raw_3 <= 0) AS q_3_0,
    count_if(raw_3 = 1) AS q_3_1,
    count_if(raw_3 = 2) AS q_3_2,
    count_if(raw_3 = 3) AS q_3_3,
    count_if(raw_3 = 4) AS q_3_4,
    count_if(raw_3 = 5) AS q_3_5,
    count_if(raw_3 = 6) AS q_3_6,
    count_if(raw_3 = 7) AS q_3_7,
    count_if(raw_3 = 8) AS q_3_8,
    count_if(raw_3 >= 9) AS q_3_9,
    AVG(COALESCE(x_3, 0)) AS seed_mean_3,
    -- the persona from the mean deviation, not seed mean - mean: no cancellation when both are close
    AVG(dev_3) AS seed_dev_3
  FROM (
    SELECT
      CAST(p."age000" AS DOUBLE) AS x_1,
      COALESCE(CAST(p."age000" AS DOUBLE), 0) - st.mean_1 AS dev_1,
      FLOOR((CAST(p."age000" AS DOUBLE) - st.lo_1) / st.width_1 * 10) AS raw_1,
      CAST(p."sex000" AS DOUBLE) AS x_2,
      COALESCE(CAST(p."sex000" AS DOUBLE), 0) - st.mean_2 AS dev_2,
      FLOOR((CAST(p."sex000" AS DOUBLE) - st.lo_2) / st.width_2 * 10) AS raw_2,
      CAST(p."gpo015" AS DOUBLE) AS x_3,
      COALESCE(CAST(p."gpo015" AS DOUBLE), 0) - st.mean_3 AS dev_3,
      FLOOR((CAST(p."gpo015" AS DOUBLE) - st.lo_3) / st.width_3 * 10) AS raw_3
    -- the seed rows first, then the one-row statistics (DuckDB would otherwise join the
    -- statistics to every customer before the seed)
    FROM (SELECT 1 AS one_key, seed_rows.* FROM (SELECT * FROM "mart"."population" seed_rows WHERE seed_rows."member_srl" IN (SELECT seed_id FROM seed_ids)) seed_rows) p
    JOIN pop_range_1 st ON st.one_key = p.one_key
  ) seed_binned
),
profile AS (
  -- stage: profile, one row per feature (the wide one-row results, unpivoted)
  SELECT
    unnest([1, 2, 3]) AS idx,
    unnest([1, 3, 2]) AS name_order,
    ps.n_population, ps.n_null_ids, ps.n_duplicate_ids, ps.repeated_pairs, st.n_profiled, ss.n_seed_found,
    unnest([st.lo_1, st.lo_2, st.lo_3]) AS lo,
    unnest([st.hi_1, st.hi_2, st.hi_3]) AS hi,
    unnest([st.mean_1, st.mean_2, st.mean_3]) AS mean,
    unnest([sh.std_1, sh.std_2, sh.std_3]) AS std,
    unnest([st.pop_count_1, st.pop_count_2, st.pop_count_3]) AS pop_count,
    unnest([ss.seed_count_1, ss.seed_count_2, ss.seed_count_3]) AS seed_count,
    unnest([ss.seed_count_1, ss.seed_count_2, ss.seed_count_3]) AS seed_weight,
    unnest([ss.seed_mean_1, ss.seed_mean_2, ss.seed_mean_3]) AS seed_mean,
    unnest([ss.seed_dev_1, ss.seed_dev_2, ss.seed_dev_3]) AS seed_dev,
    unnest([sh.p_1_0, sh.p_2_0, sh.p_3_0]) AS p_0,
    unnest([ss.q_1_0, ss.q_2_0, ss.q_3_0]) AS q_0,
    unnest([sh.p_1_1, sh.p_2_1, sh.p_3_1]) AS p_1,
    unnest([ss.q_1_1, ss.q_2_1, ss.q_3_1]) AS q_1,
    unnest([sh.p_1_2, sh.p_2_2, sh.p_3_2]) AS p_2,
    unnest([ss.q_1_2, ss.q_2_2, ss.q_3_2]) AS q_2,
    unnest([sh.p_1_3, sh.p_2_3, sh.p_3_3]) AS p_3,
    unnest([ss.q_1_3, ss.q_2_3, ss.q_3_3]) AS q_3,
    unnest([sh.p_1_4, sh.p_2_4, sh.p_3_4]) AS p_4,
    unnest([ss.q_1_4, ss.q_2_4, ss.q_3_4]) AS q_4,
    unnest([sh.p_1_5, sh.p_2_5, sh.p_3_5]) AS p_5,
    unnest([ss.q_1_5, ss.q_2_5, ss.q_3_5]) AS q_5,
    unnest([sh.p_1_6, sh.p_2_6, sh.p_3_6]) AS p_6,
    unnest([ss.q_1_6, ss.q_2_6, ss.q_3_6]) AS q_6,
    unnest([sh.p_1_7, sh.p_2_7, sh.p_3_7]) AS p_7,
    unnest([ss.q_1_7, ss.q_2_7, ss.q_3_7]) AS q_7,
    unnest([sh.p_1_8, sh.p_2_8, sh.p_3_8]) AS p_8,
    unnest([ss.q_1_8, ss.q_2_8, ss.q_3_8]) AS q_8,
    unnest([sh.p_1_9, sh.p_2_9, sh.p_3_9]) AS p_9,
    unnest([ss.q_1_9, ss.q_2_9, ss.q_3_9]) AS q_9
  FROM population_size ps JOIN pop_range_1 st ON st.one_key = ps.one_key JOIN pop_hist_1 sh ON sh.one_key = ps.one_key JOIN seed_stats_1 ss ON ss.one_key = ps.one_key
),
shares AS (
  -- stage: select, the share of the population (p) and of the seed (q) in each bin
  SELECT
    pr.*,
    CAST(pr.p_0 AS DOUBLE) / NULLIF(pr.pop_count, 0) AS pop_share_0,
    CAST(pr.q_0 AS DOUBLE) / NULLIF(pr.seed_weight, 0) AS seed_share_0,
    CAST(pr.p_1 AS DOUBLE) / NULLIF(pr.pop_count, 0) AS pop_share_1,
    CAST(pr.q_1 AS DOUBLE) / NULLIF(pr.seed_weight, 0) AS seed_share_1,
    CAST(pr.p_2 AS DOUBLE) / NULLIF(pr.pop_count, 0) AS pop_share_2,
    CAST(pr.q_2 AS DOUBLE) / NULLIF(pr.seed_weight, 0) AS seed_share_2,
    CAST(pr.p_3 AS DOUBLE) / NULLIF(pr.pop_count, 0) AS pop_share_3,
    CAST(pr.q_3 AS DOUBLE) / NULLIF(pr.seed_weight, 0) AS seed_share_3,
    CAST(pr.p_4 AS DOUBLE) / NULLIF(pr.pop_count, 0) AS pop_share_4,
    CAST(pr.q_4 AS DOUBLE) / NULLIF(pr.seed_weight, 0) AS seed_share_4,
    CAST(pr.p_5 AS DOUBLE) / NULLIF(pr.pop_count, 0) AS pop_share_5,
    CAST(pr.q_5 AS DOUBLE) / NULLIF(pr.seed_weight, 0) AS seed_share_5,
    CAST(pr.p_6 AS DOUBLE) / NULLIF(pr.pop_count, 0) AS pop_share_6,
    CAST(pr.q_6 AS DOUBLE) / NULLIF(pr.seed_weight, 0) AS seed_share_6,
    CAST(pr.p_7 AS DOUBLE) / NULLIF(pr.pop_count, 0) AS pop_share_7,
    CAST(pr.q_7 AS DOUBLE) / NULLIF(pr.seed_weight, 0) AS seed_share_7,
    CAST(pr.p_8 AS DOUBLE) / NULLIF(pr.pop_count, 0) AS pop_share_8,
    CAST(pr.q_8 AS DOUBLE) / NULLIF(pr.seed_weight, 0) AS seed_share_8,
    CAST(pr.p_9 AS DOUBLE) / NULLIF(pr.pop_count, 0) AS pop_share_9,
    CAST(pr.q_9 AS DOUBLE) / NULLIF(pr.seed_weight, 0) AS seed_share_9
  FROM profile pr
),
divergence AS (
  -- stage: select, Jensen-Shannon divergence in base 2 per feature
  -- (0 for a constant feature, a zero standard deviation (it underflowed), too few seed values or
  -- seed values worth 0 in all)
  SELECT
    sh.idx, sh.name_order, sh.n_population, sh.n_null_ids, sh.n_duplicate_ids, sh.repeated_pairs,
    sh.n_profiled, sh.n_seed_found,
    sh.lo, sh.hi, sh.mean, sh.std, sh.pop_count, sh.seed_count, sh.seed_weight, sh.seed_mean,
    sh.p_0, sh.q_0,
    sh.p_1, sh.q_1,
    sh.p_2, sh.q_2,
    sh.p_3, sh.q_3,
    sh.p_4, sh.q_4,
    sh.p_5, sh.q_5,
    sh.p_6, sh.q_6,
    sh.p_7, sh.q_7,
    sh.p_8, sh.q_8,
    sh.p_9, sh.q_9,
    sh.seed_dev / NULLIF(sh.std, 0) AS persona,
    CASE WHEN NOT ((COALESCE(sh.lo, 0) <= CAST(1.7976931348623157e+308 AS DOUBLE) AND COALESCE(sh.lo, 0) >= -CAST(1.7976931348623157e+308 AS DOUBLE)) AND (COALESCE(sh.hi, 0) <= CAST(1.7976931348623157e+308 AS DOUBLE) AND COALESCE(sh.hi, 0) >= -CAST(1.7976931348623157e+308 AS DOUBLE)) AND (COALESCE(sh.mean, 0) <= CAST(1.7976931348623157e+308 AS DOUBLE) AND COALESCE(sh.mean, 0) >= -CAST(1.7976931348623157e+308 AS DOUBLE)) AND (COALESCE(sh.seed_mean, 0) <= CAST(1.7976931348623157e+308 AS DOUBLE) AND COALESCE(sh.seed_mean, 0) >= -CAST(1.7976931348623157e+308 AS DOUBLE))) THEN 1 ELSE 0 END AS non_finite,
    CASE WHEN sh.hi > sh.lo AND sh.std > 0 AND sh.seed_count >= 30 AND sh.seed_weight > 0 THEN ((((((CASE WHEN sh.pop_share_0 > 0 THEN sh.pop_share_0 * LN(sh.pop_share_0 / ((sh.pop_share_0 + sh.seed_share_0) / 2)) ELSE 0 END + CASE WHEN sh.seed_share_0 > 0 THEN sh.seed_share_0 * LN(sh.seed_share_0 / ((sh.pop_share_0 + sh.seed_share_0) / 2)) ELSE 0 END) + (CASE WHEN sh.pop_share_1 > 0 THEN sh.pop_share_1 * LN(sh.pop_share_1 / ((sh.pop_share_1 + sh.seed_share_1) / 2)) ELSE 0 END + CASE WHEN sh.seed_share_1 > 0 THEN sh.seed_share_1 * LN(sh.seed_share_1 / ((sh.pop_share_1 + sh.seed_share_1) / 2)) ELSE 0 END)) + ((CASE WHEN sh.pop_share_2 > 0 THEN sh.pop_share_2 * LN(sh.pop_share_2 / ((sh.pop_share_2 + sh.seed_share_2) / 2)) ELSE 0 END + CASE WHEN sh.seed_share_2 > 0 THEN sh.seed_share_2 * LN(sh.seed_share_2 / ((sh.pop_share_2 + sh.seed_share_2) / 2)) ELSE 0 END) + (CASE WHEN sh.pop_share_3 > 0 THEN sh.pop_share_3 * LN(sh.pop_share_3 / ((sh.pop_share_3 + sh.seed_share_3) / 2)) ELSE 0 END + CASE WHEN sh.seed_share_3 > 0 THEN sh.seed_share_3 * LN(sh.seed_share_3 / ((sh.pop_share_3 + sh.seed_share_3) / 2)) ELSE 0 END))) + (((CASE WHEN sh.pop_share_4 > 0 THEN sh.pop_share_4 * LN(sh.pop_share_4 / ((sh.pop_share_4 + sh.seed_share_4) / 2)) ELSE 0 END + CASE WHEN sh.seed_share_4 > 0 THEN sh.seed_share_4 * LN(sh.seed_share_4 / ((sh.pop_share_4 + sh.seed_share_4) / 2)) ELSE 0 END) + (CASE WHEN sh.pop_share_5 > 0 THEN sh.pop_share_5 * LN(sh.pop_share_5 / ((sh.pop_share_5 + sh.seed_share_5) / 2)) ELSE 0 END + CASE WHEN sh.seed_share_5 > 0 THEN sh.seed_share_5 * LN(sh.seed_share_5 / ((sh.pop_share_5 + sh.seed_share_5) / 2)) ELSE 0 END)) + ((CASE WHEN sh.pop_share_6 > 0 THEN sh.pop_share_6 * LN(sh.pop_share_6 / ((sh.pop_share_6 + sh.seed_share_6) / 2)) ELSE 0 END + CASE WHEN sh.seed_share_6 > 0 THEN sh.seed_share_6 * LN(sh.seed_share_6 / ((sh.pop_share_6 + sh.seed_share_6) / 2)) ELSE 0 END) + (CASE WHEN sh.pop_share_7 > 0 THEN sh.pop_share_7 * LN(sh.pop_share_7 / ((sh.pop_share_7 + sh.seed_share_7) / 2)) ELSE 0 END + CASE WHEN sh.seed_share_7 > 0 THEN sh.seed_share_7 * LN(sh.seed_share_7 / ((sh.pop_share_7 + sh.seed_share_7) / 2)) ELSE 0 END)))) + ((CASE WHEN sh.pop_share_8 > 0 THEN sh.pop_share_8 * LN(sh.pop_share_8 / ((sh.pop_share_8 + sh.seed_share_8) / 2)) ELSE 0 END + CASE WHEN sh.seed_share_8 > 0 THEN sh.seed_share_8 * LN(sh.seed_share_8 / ((sh.pop_share_8 + sh.seed_share_8) / 2)) ELSE 0 END) + (CASE WHEN sh.pop_share_9 > 0 THEN sh.pop_share_9 * LN(sh.pop_share_9 / ((sh.pop_share_9 + sh.seed_share_9) / 2)) ELSE 0 END + CASE WHEN sh.seed_share_9 > 0 THEN sh.seed_share_9 * LN(sh.seed_share_9 / ((sh.pop_share_9 + sh.seed_share_9) / 2)) ELSE 0 END)))) / (2 * LN(2)) ELSE 0 END AS js_divergence
  FROM shares sh
),
selection AS (
  -- stage: select, the features by divergence, ties by name (the first max_features at or above the
  -- threshold are selected)
  SELECT dv.*, ROW_NUMBER() OVER (ORDER BY dv.js_divergence DESC, dv.name_order) AS js_rank
  FROM divergence dv
),
excluded_ids AS (
  -- stage: rank, the customers left out of the audience: the seed
  SELECT DISTINCT excluded_source.excluded_id
  FROM (
    SELECT seed_id AS excluded_id FROM seed_ids
  ) excluded_source
  WHERE excluded_source.excluded_id IS NOT NULL
),
weights_1 AS (
  -- stage: select, the weights (divergence / sum of the selected divergences) and personas as one row
  -- (checked: the population, its ids and values, the seed, and that a feature is selected)
  SELECT w.*
  FROM (
    SELECT
      1 AS one_key,
      MAX(s.n_population) AS n_population, MAX(s.n_null_ids) AS n_null_ids, MAX(s.n_duplicate_ids) AS n_duplicate_ids,
      MAX(s.repeated_pairs) AS repeated_pairs, SUM(s.non_finite) AS non_finite_features, MAX(s.n_seed_found) AS n_seed_found,
      SUM(s.is_selected) AS features_selected,
      MAX(CASE WHEN s.idx = 1 AND s.is_selected = 1 THEN s.js_divergence END) / SUM(CASE WHEN s.is_selected = 1 THEN s.js_divergence END) AS weight_1,
      MAX(CASE WHEN s.idx = 1 THEN s.persona END) AS persona_1,
      MAX(CASE WHEN s.idx = 2 AND s.is_selected = 1 THEN s.js_divergence END) / SUM(CASE WHEN s.is_selected = 1 THEN s.js_divergence END) AS weight_2,
      MAX(CASE WHEN s.idx = 2 THEN s.persona END) AS persona_2,
      MAX(CASE WHEN s.idx = 3 AND s.is_selected = 1 THEN s.js_divergence END) / SUM(CASE WHEN s.is_selected = 1 THEN s.js_divergence END) AS weight_3,
      MAX(CASE WHEN s.idx = 3 THEN s.persona END) AS persona_3
    FROM (SELECT sel.*, CASE WHEN sel.js_divergence >= CAST(0.05 AS DOUBLE) AND sel.js_divergence > 0 AND sel.js_rank <= 20 THEN 1 ELSE 0 END AS is_selected FROM selection sel) s
  ) w
  WHERE CASE WHEN NOT (w.n_population > 0) THEN error('E: lookalike-sql stopped the job: the population is empty: check the population table.') WHEN NOT (w.n_null_ids = 0) THEN error('N: lookalike-sql stopped the job: the population has customers whose id is NULL: filter them out in a view.') WHEN NOT (w.n_duplicate_ids = 0) THEN error('D: lookalike-sql stopped the job: an id appears more than once in the population: make the id column unique (a view with one row per customer).') WHEN NOT (w.repeated_pairs = 0) THEN error('R: lookalike-sql stopped the job: an (id, feature) pair appears more than once in the long table: keep one row per customer and feature.') WHEN NOT (w.non_finite_features = 0) THEN error('F: lookalike-sql stopped the job: a feature holds NaN or infinite values: replace them with NULL in a view, or leave the feature out.') WHEN NOT (w.n_seed_found > 0) THEN error('S: lookalike-sql stopped the job: no seed id was found in the population table: check that the seed holds values of the id column.') WHEN NOT (w.features_selected > 0) THEN error('T: lookalike-sql stopped the job: no feature reaches the JS-divergence threshold: lower the threshold or use a sharper seed.') ELSE 1 END = 1
),
distance_part_1 AS (
  -- stage: rank, squared weighted distance to the persona
  SELECT
    p."member_srl" AS customer_id,
    ((CASE WHEN w.weight_1 > 0 THEN (w.weight_1 * ((COALESCE(CAST(p."age000" AS DOUBLE), 0) - st.mean_1) / sh.std_1 - w.persona_1)) * (w.weight_1 * ((COALESCE(CAST(p."age000" AS DOUBLE), 0) - st.mean_1) / sh.std_1 - w.persona_1)) ELSE 0 END + CASE WHEN w.weight_2 > 0 THEN (w.weight_2 * ((COALESCE(CAST(p."sex000" AS DOUBLE), 0) - st.mean_2) / sh.std_2 - w.persona_2)) * (w.weight_2 * ((COALESCE(CAST(p."sex000" AS DOUBLE), 0) - st.mean_2) / sh.std_2 - w.persona_2)) ELSE 0 END) + CASE WHEN w.weight_3 > 0 THEN (w.weight_3 * ((COALESCE(CAST(p."gpo015" AS DOUBLE), 0) - st.mean_3) / sh.std_3 - w.persona_3)) * (w.weight_3 * ((COALESCE(CAST(p."gpo015" AS DOUBLE), 0) - st.mean_3) / sh.std_3 - w.persona_3)) ELSE 0 END) AS method_sum_0
  FROM (SELECT 1 AS one_key, ranked.* FROM "mart"."population" ranked) p
  JOIN pop_range_1 st ON st.one_key = p.one_key
  JOIN pop_hist_1 sh ON sh.one_key = p.one_key
  JOIN weights_1 w ON w.one_key = p.one_key
),
scored AS (
  -- stage: rank, weighted weighted distance to the persona
  SELECT
    d1.customer_id,
    SQRT(d1.method_sum_0) AS distance
  FROM distance_part_1 d1
  LEFT JOIN excluded_ids excluded ON d1.customer_id = excluded.excluded_id
  WHERE excluded.excluded_id IS NULL
),
top_n AS (
  -- stage: top-n, the closest customers first, ties by id
  SELECT c.customer_id, c.distance
  FROM scored c
  ORDER BY c.distance, c.customer_id
  LIMIT 30000
)
SELECT
  top_n.customer_id AS "member_srl",
  ROW_NUMBER() OVER (ORDER BY top_n.distance, top_n.customer_id) AS "rank",
  top_n.distance AS "distance"
FROM top_n
ORDER BY "rank"
