-- lookalike-sql VERSION (redshift): the lookalike audience as one statement
-- What it computes: profiles each feature against the seed (JS divergence of histograms), weighs the most divergent, ranks
--   customers by weighted distance to the seed's mean, returns the top 30000 ids not in the seed with rank and distance
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
seed_size AS (
  -- stage: seed, its number of distinct ids
  SELECT COUNT(*) AS n_seed_ids FROM seed_ids
),
population_size AS (
  -- stage: population, its size and the id column's soundness (checked before use)
  SELECT
    COUNT(*) AS n_population,
    COUNT(*) - COUNT(p."member_srl") AS n_null_ids,
    COUNT(p."member_srl") - COUNT(DISTINCT p."member_srl") AS n_duplicate_ids,
    0 AS repeated_pairs
  FROM "mart"."population" p
),
pop_range_1 AS (
  -- stage: profile, pass 1 over the profiled customers: range, count and mean per feature
  SELECT
    COUNT(*) AS n_profiled,
    MIN(CAST(p."age000" AS DOUBLE PRECISION)) AS lo_1, MAX(CAST(p."age000" AS DOUBLE PRECISION)) AS hi_1, NULLIF(MAX(CAST(p."age000" AS DOUBLE PRECISION)) - MIN(CAST(p."age000" AS DOUBLE PRECISION)), 0) AS wd_1,
    COUNT(p."age000") AS n_1,
    COALESCE(SUM(CAST(p."age000" AS DOUBLE PRECISION)), 0) / NULLIF(COUNT(*), 0) AS mu_1,
    MIN(CAST(p."sex000" AS DOUBLE PRECISION)) AS lo_2, MAX(CAST(p."sex000" AS DOUBLE PRECISION)) AS hi_2, NULLIF(MAX(CAST(p."sex000" AS DOUBLE PRECISION)) - MIN(CAST(p."sex000" AS DOUBLE PRECISION)), 0) AS wd_2,
    COUNT(p."sex000") AS n_2,
    COALESCE(SUM(CAST(p."sex000" AS DOUBLE PRECISION)), 0) / NULLIF(COUNT(*), 0) AS mu_2,
    MIN(CAST(p."gpo015" AS DOUBLE PRECISION)) AS lo_3, MAX(CAST(p."gpo015" AS DOUBLE PRECISION)) AS hi_3, NULLIF(MAX(CAST(p."gpo015" AS DOUBLE PRECISION)) - MIN(CAST(p."gpo015" AS DOUBLE PRECISION)), 0) AS wd_3,
    COUNT(p."gpo015") AS n_3,
    COALESCE(SUM(CAST(p."gpo015" AS DOUBLE PRECISION)), 0) / NULLIF(COUNT(*), 0) AS mu_3
  FROM "mart"."population" p
),
pop_hist_1 AS (
  -- stage: profile, pass 2: standard deviation and equal-width histograms
  SELECT
    SQRT(SUM((dev_1) * (dev_1)) / NULLIF(COUNT(*), 0)) AS sd_1,
    COUNT(CASE WHEN raw_1 <= 0 THEN 1 END) AS p_1_0,
    COUNT(CASE WHEN raw_1 = 1 THEN 1 END) AS p_1_1,
    COUNT(CASE WHEN raw_1 = 2 THEN 1 END) AS p_1_2,
    COUNT(CASE WHEN raw_1 = 3 THEN 1 END) AS p_1_3,
    COUNT(CASE WHEN raw_1 = 4 THEN 1 END) AS p_1_4,
    COUNT(CASE WHEN raw_1 = 5 THEN 1 END) AS p_1_5,
    COUNT(CASE WHEN raw_1 = 6 THEN 1 END) AS p_1_6,
    COUNT(CASE WHEN raw_1 = 7 THEN 1 END) AS p_1_7,
    COUNT(CASE WHEN raw_1 = 8 THEN 1 END) AS p_1_8,
    COUNT(CASE WHEN raw_1 >= 9 THEN 1 END) AS p_1_9,
    SQRT(SUM((dev_2) * (dev_2)) / NULLIF(COUNT(*), 0)) AS sd_2,
    COUNT(CASE WHEN raw_2 <= 0 THEN 1 END) AS p_2_0,
    COUNT(CASE WHEN raw_2 = 1 THEN 1 END) AS p_2_1,
    COUNT(CASE WHEN raw_2 = 2 THEN 1 END) AS p_2_2,
    COUNT(CASE WHEN raw_2 = 3 THEN 1 END) AS p_2_3,
    COUNT(CASE WHEN raw_2 = 4 THEN 1 END) AS p_2_4,
    COUNT(CASE WHEN raw_2 = 5 THEN 1 END) AS p_2_5,
    COUNT(CASE WHEN raw_2 = 6 THEN 1 END) AS p_2_6,
    COUNT(CASE WHEN raw_2 = 7 THEN 1 END) AS p_2_7,
    COUNT(CASE WHEN raw_2 = 8 THEN 1 END) AS p_2_8,
    COUNT(CASE WHEN raw_2 >= 9 THEN 1 END) AS p_2_9,
    SQRT(SUM((dev_3) * (dev_3)) / NULLIF(COUNT(*), 0)) AS sd_3,
    COUNT(CASE WHEN raw_3 <= 0 THEN 1 END) AS p_3_0,
    COUNT(CASE WHEN raw_3 = 1 THEN 1 END) AS p_3_1,
    COUNT(CASE WHEN raw_3 = 2 THEN 1 END) AS p_3_2,
    COUNT(CASE WHEN raw_3 = 3 THEN 1 END) AS p_3_3,
    COUNT(CASE WHEN raw_3 = 4 THEN 1 END) AS p_3_4,
    COUNT(CASE WHEN raw_3 = 5 THEN 1 END) AS p_3_5,
    COUNT(CASE WHEN raw_3 = 6 THEN 1 END) AS p_3_6,
    COUNT(CASE WHEN raw_3 = 7 THEN 1 END) AS p_3_7,
    COUNT(CASE WHEN raw_3 = 8 THEN 1 END) AS p_3_8,
    COUNT(CASE WHEN raw_3 >= 9 THEN 1 END) AS p_3_9
  FROM (
    SELECT
      COALESCE(CAST(p."age000" AS DOUBLE PRECISION), 0) - st.mu_1 AS dev_1,
      FLOOR((CAST(p."age000" AS DOUBLE PRECISION) - st.lo_1) / st.wd_1 * 10) AS raw_1,
      COALESCE(CAST(p."sex000" AS DOUBLE PRECISION), 0) - st.mu_2 AS dev_2,
      FLOOR((CAST(p."sex000" AS DOUBLE PRECISION) - st.lo_2) / st.wd_2 * 10) AS raw_2,
      COALESCE(CAST(p."gpo015" AS DOUBLE PRECISION), 0) - st.mu_3 AS dev_3,
      FLOOR((CAST(p."gpo015" AS DOUBLE PRECISION) - st.lo_3) / st.wd_3 * 10) AS raw_3
    FROM "mart"."population" p
    CROSS JOIN pop_range_1 st
  ) binned
),
seed_stats_1 AS (
  -- stage: profile, the seed members' histograms and mean value (for the persona)
  SELECT
    COUNT(*) AS n_seed_found,
    COUNT(x_1) AS sn_1,
    COUNT(CASE WHEN raw_1 <= 0 THEN 1 END) AS q_1_0,
    COUNT(CASE WHEN raw_1 = 1 THEN 1 END) AS q_1_1,
    COUNT(CASE WHEN raw_1 = 2 THEN 1 END) AS q_1_2,
    COUNT(CASE WHEN raw_1 = 3 THEN 1 END) AS q_1_3,
    COUNT(CASE WHEN raw_1 = 4 THEN 1 END) AS q_1_4,
    COUNT(CASE WHEN raw_1 = 5 THEN 1 END) AS q_1_5,
    COUNT(CASE WHEN raw_1 = 6 THEN 1 END) AS q_1_6,
    COUNT(CASE WHEN raw_1 = 7 THEN 1 END) AS q_1_7,
    COUNT(CASE WHEN raw_1 = 8 THEN 1 END) AS q_1_8,
    COUNT(CASE WHEN raw_1 >= 9 THEN 1 END) AS q_1_9,
    AVG(COALESCE(x_1, 0)) AS sm_1,
    -- the persona from the mean deviation, not seed mean - mean: no cancellation when both are close
    AVG(dev_1) AS sdev_1,
    COUNT(x_2) AS sn_2,
    COUNT(CASE WHEN raw_2 <= 0 THEN 1 END) AS q_2_0,
    COUNT(CASE WHEN raw_2 = 1 THEN 1 END) AS q_2_1,
    COUNT(CASE WHEN raw_2 = 2 THEN 1 END) AS q_2_2,
    COUNT(CASE WHEN raw_2 = 3 THEN 1 END) AS q_2_3,
    COUNT(CASE WHEN raw_2 = 4 THEN 1 END) AS q_2_4,
    COUNT(CASE WHEN raw_2 = 5 THEN 1 END) AS q_2_5,
    COUNT(CASE WHEN raw_2 = 6 THEN 1 END) AS q_2_6,
    COUNT(CASE WHEN raw_2 = 7 THEN 1 END) AS q_2_7,
    COUNT(CASE WHEN raw_2 = 8 THEN 1 END) AS q_2_8,
    COUNT(CASE WHEN raw_2 >= 9 THEN 1 END) AS q_2_9,
    AVG(COALESCE(x_2, 0)) AS sm_2,
    -- the persona from the mean deviation, not seed mean - mean: no cancellation when both are close
    AVG(dev_2) AS sdev_2,
    COUNT(x_3) AS sn_3,
    COUNT(CASE WHEN raw_3 <= 0 THEN 1 END) AS q_3_0,
    COUNT(CASE WHEN raw_3 = 1 THEN 1 END) AS q_3_1,
    COUNT(CASE WHEN raw_3 = 2 THEN 1 END) AS q_3_2,
    COUNT(CASE WHEN raw_3 = 3 THEN 1 END) AS q_3_3,
    COUNT(CASE WHEN raw_3 = 4 THEN 1 END) AS q_3_4,
    COUNT(CASE WHEN raw_3 = 5 THEN 1 END) AS q_3_5,
    COUNT(CASE WHEN raw_3 = 6 THEN 1 END) AS q_3_6,
    COUNT(CASE WHEN raw_3 = 7 THEN 1 END) AS q_3_7,
    COUNT(CASE WHEN raw_3 = 8 THEN 1 END) AS q_3_8,
    COUNT(CASE WHEN raw_3 >= 9 THEN 1 END) AS q_3_9,
    AVG(COALESCE(x_3, 0)) AS sm_3,
    -- the persona from the mean deviation, not seed mean - mean: no cancellation when both are close
    AVG(dev_3) AS sdev_3
  FROM (
    SELECT
      CAST(p."age000" AS DOUBLE PRECISION) AS x_1,
      COALESCE(CAST(p."age000" AS DOUBLE PRECISION), 0) - st.mu_1 AS dev_1,
      FLOOR((CAST(p."age000" AS DOUBLE PRECISION) - st.lo_1) / st.wd_1 * 10) AS raw_1,
      CAST(p."sex000" AS DOUBLE PRECISION) AS x_2,
      COALESCE(CAST(p."sex000" AS DOUBLE PRECISION), 0) - st.mu_2 AS dev_2,
      FLOOR((CAST(p."sex000" AS DOUBLE PRECISION) - st.lo_2) / st.wd_2 * 10) AS raw_2,
      CAST(p."gpo015" AS DOUBLE PRECISION) AS x_3,
      COALESCE(CAST(p."gpo015" AS DOUBLE PRECISION), 0) - st.mu_3 AS dev_3,
      FLOOR((CAST(p."gpo015" AS DOUBLE PRECISION) - st.lo_3) / st.wd_3 * 10) AS raw_3
    -- the seed's rows first, then the one-row statistics (DuckDB would otherwise join the
    -- statistics to every customer before the seed)
    FROM (SELECT * FROM "mart"."population" seed_rows WHERE seed_rows."member_srl" IN (SELECT seed_id FROM seed_ids)) p
    CROSS JOIN pop_range_1 st
  ) seed_binned
),
profile AS (
  -- stage: profile, one row per feature (the wide one-row results, unpivoted)
  SELECT
    f.idx, f.name_order, f.feature, ps.n_population, ps.n_null_ids, ps.n_duplicate_ids, ps.repeated_pairs, st.n_profiled, ss.n_seed_found, sz.n_seed_ids,
    CASE f.idx WHEN 1 THEN st.lo_1 WHEN 2 THEN st.lo_2 WHEN 3 THEN st.lo_3 END AS lo,
    CASE f.idx WHEN 1 THEN st.hi_1 WHEN 2 THEN st.hi_2 WHEN 3 THEN st.hi_3 END AS hi,
    CASE f.idx WHEN 1 THEN st.mu_1 WHEN 2 THEN st.mu_2 WHEN 3 THEN st.mu_3 END AS mean,
    CASE f.idx WHEN 1 THEN sh.sd_1 WHEN 2 THEN sh.sd_2 WHEN 3 THEN sh.sd_3 END AS std,
    CASE f.idx WHEN 1 THEN st.n_1 WHEN 2 THEN st.n_2 WHEN 3 THEN st.n_3 END AS pop_count,
    CASE f.idx WHEN 1 THEN ss.sn_1 WHEN 2 THEN ss.sn_2 WHEN 3 THEN ss.sn_3 END AS seed_count,
    CASE f.idx WHEN 1 THEN ss.sn_1 WHEN 2 THEN ss.sn_2 WHEN 3 THEN ss.sn_3 END AS seed_weight,
    CASE f.idx WHEN 1 THEN ss.sm_1 WHEN 2 THEN ss.sm_2 WHEN 3 THEN ss.sm_3 END AS seed_mean,
    CASE f.idx WHEN 1 THEN ss.sdev_1 WHEN 2 THEN ss.sdev_2 WHEN 3 THEN ss.sdev_3 END AS seed_dev,
    CASE f.idx WHEN 1 THEN sh.p_1_0 WHEN 2 THEN sh.p_2_0 WHEN 3 THEN sh.p_3_0 END AS p_0,
    CASE f.idx WHEN 1 THEN ss.q_1_0 WHEN 2 THEN ss.q_2_0 WHEN 3 THEN ss.q_3_0 END AS q_0,
    CASE f.idx WHEN 1 THEN sh.p_1_1 WHEN 2 THEN sh.p_2_1 WHEN 3 THEN sh.p_3_1 END AS p_1,
    CASE f.idx WHEN 1 THEN ss.q_1_1 WHEN 2 THEN ss.q_2_1 WHEN 3 THEN ss.q_3_1 END AS q_1,
    CASE f.idx WHEN 1 THEN sh.p_1_2 WHEN 2 THEN sh.p_2_2 WHEN 3 THEN sh.p_3_2 END AS p_2,
    CASE f.idx WHEN 1 THEN ss.q_1_2 WHEN 2 THEN ss.q_2_2 WHEN 3 THEN ss.q_3_2 END AS q_2,
    CASE f.idx WHEN 1 THEN sh.p_1_3 WHEN 2 THEN sh.p_2_3 WHEN 3 THEN sh.p_3_3 END AS p_3,
    CASE f.idx WHEN 1 THEN ss.q_1_3 WHEN 2 THEN ss.q_2_3 WHEN 3 THEN ss.q_3_3 END AS q_3,
    CASE f.idx WHEN 1 THEN sh.p_1_4 WHEN 2 THEN sh.p_2_4 WHEN 3 THEN sh.p_3_4 END AS p_4,
    CASE f.idx WHEN 1 THEN ss.q_1_4 WHEN 2 THEN ss.q_2_4 WHEN 3 THEN ss.q_3_4 END AS q_4,
    CASE f.idx WHEN 1 THEN sh.p_1_5 WHEN 2 THEN sh.p_2_5 WHEN 3 THEN sh.p_3_5 END AS p_5,
    CASE f.idx WHEN 1 THEN ss.q_1_5 WHEN 2 THEN ss.q_2_5 WHEN 3 THEN ss.q_3_5 END AS q_5,
    CASE f.idx WHEN 1 THEN sh.p_1_6 WHEN 2 THEN sh.p_2_6 WHEN 3 THEN sh.p_3_6 END AS p_6,
    CASE f.idx WHEN 1 THEN ss.q_1_6 WHEN 2 THEN ss.q_2_6 WHEN 3 THEN ss.q_3_6 END AS q_6,
    CASE f.idx WHEN 1 THEN sh.p_1_7 WHEN 2 THEN sh.p_2_7 WHEN 3 THEN sh.p_3_7 END AS p_7,
    CASE f.idx WHEN 1 THEN ss.q_1_7 WHEN 2 THEN ss.q_2_7 WHEN 3 THEN ss.q_3_7 END AS q_7,
    CASE f.idx WHEN 1 THEN sh.p_1_8 WHEN 2 THEN sh.p_2_8 WHEN 3 THEN sh.p_3_8 END AS p_8,
    CASE f.idx WHEN 1 THEN ss.q_1_8 WHEN 2 THEN ss.q_2_8 WHEN 3 THEN ss.q_3_8 END AS q_8,
    CASE f.idx WHEN 1 THEN sh.p_1_9 WHEN 2 THEN sh.p_2_9 WHEN 3 THEN sh.p_3_9 END AS p_9,
    CASE f.idx WHEN 1 THEN ss.q_1_9 WHEN 2 THEN ss.q_2_9 WHEN 3 THEN ss.q_3_9 END AS q_9
  FROM (
    SELECT 1 AS idx, 1 AS name_order, 'age000' AS feature
    UNION ALL
    SELECT 2 AS idx, 3 AS name_order, 'sex000' AS feature
    UNION ALL
    SELECT 3 AS idx, 2 AS name_order, 'gpo015' AS feature
  ) f
  CROSS JOIN seed_size sz CROSS JOIN population_size ps CROSS JOIN pop_range_1 st CROSS JOIN pop_hist_1 sh CROSS JOIN seed_stats_1 ss
),
shares AS (
  -- stage: select, each bin's share of the population (p) and of the seed (q)
  SELECT
    pr.*,
    CAST(pr.p_0 AS DOUBLE PRECISION) / NULLIF(pr.pop_count, 0) AS pp_0,
    CAST(pr.q_0 AS DOUBLE PRECISION) / NULLIF(pr.seed_weight, 0) AS qq_0,
    CAST(pr.p_1 AS DOUBLE PRECISION) / NULLIF(pr.pop_count, 0) AS pp_1,
    CAST(pr.q_1 AS DOUBLE PRECISION) / NULLIF(pr.seed_weight, 0) AS qq_1,
    CAST(pr.p_2 AS DOUBLE PRECISION) / NULLIF(pr.pop_count, 0) AS pp_2,
    CAST(pr.q_2 AS DOUBLE PRECISION) / NULLIF(pr.seed_weight, 0) AS qq_2,
    CAST(pr.p_3 AS DOUBLE PRECISION) / NULLIF(pr.pop_count, 0) AS pp_3,
    CAST(pr.q_3 AS DOUBLE PRECISION) / NULLIF(pr.seed_weight, 0) AS qq_3,
    CAST(pr.p_4 AS DOUBLE PRECISION) / NULLIF(pr.pop_count, 0) AS pp_4,
    CAST(pr.q_4 AS DOUBLE PRECISION) / NULLIF(pr.seed_weight, 0) AS qq_4,
    CAST(pr.p_5 AS DOUBLE PRECISION) / NULLIF(pr.pop_count, 0) AS pp_5,
    CAST(pr.q_5 AS DOUBLE PRECISION) / NULLIF(pr.seed_weight, 0) AS qq_5,
    CAST(pr.p_6 AS DOUBLE PRECISION) / NULLIF(pr.pop_count, 0) AS pp_6,
    CAST(pr.q_6 AS DOUBLE PRECISION) / NULLIF(pr.seed_weight, 0) AS qq_6,
    CAST(pr.p_7 AS DOUBLE PRECISION) / NULLIF(pr.pop_count, 0) AS pp_7,
    CAST(pr.q_7 AS DOUBLE PRECISION) / NULLIF(pr.seed_weight, 0) AS qq_7,
    CAST(pr.p_8 AS DOUBLE PRECISION) / NULLIF(pr.pop_count, 0) AS pp_8,
    CAST(pr.q_8 AS DOUBLE PRECISION) / NULLIF(pr.seed_weight, 0) AS qq_8,
    CAST(pr.p_9 AS DOUBLE PRECISION) / NULLIF(pr.pop_count, 0) AS pp_9,
    CAST(pr.q_9 AS DOUBLE PRECISION) / NULLIF(pr.seed_weight, 0) AS qq_9
  FROM profile pr
),
divergence AS (
  -- stage: select, Jensen-Shannon divergence in base 2 per feature
  -- (0 for a constant feature, a zero standard deviation (it underflowed), too few seed values or
  -- seed values worth 0 in all)
  SELECT
    sh.idx, sh.name_order, sh.feature, sh.n_population, sh.n_null_ids, sh.n_duplicate_ids, sh.repeated_pairs,
    sh.n_profiled, sh.n_seed_found, sh.n_seed_ids,
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
    CASE WHEN (sh.lo > CAST(1.7976931348623157e+308 AS DOUBLE PRECISION) OR sh.lo < -CAST(1.7976931348623157e+308 AS DOUBLE PRECISION) OR sh.hi > CAST(1.7976931348623157e+308 AS DOUBLE PRECISION) OR sh.hi < -CAST(1.7976931348623157e+308 AS DOUBLE PRECISION) OR sh.mean > CAST(1.7976931348623157e+308 AS DOUBLE PRECISION) OR sh.mean < -CAST(1.7976931348623157e+308 AS DOUBLE PRECISION) OR sh.seed_mean > CAST(1.7976931348623157e+308 AS DOUBLE PRECISION) OR sh.seed_mean < -CAST(1.7976931348623157e+308 AS DOUBLE PRECISION)) THEN 1 ELSE 0 END AS non_finite,
    CASE WHEN sh.hi > sh.lo AND sh.std > 0 AND sh.seed_count >= 30 AND sh.seed_weight > 0 THEN ((((((CASE WHEN sh.pp_0 > 0 THEN sh.pp_0 * LN(sh.pp_0 / ((sh.pp_0 + sh.qq_0) / 2)) ELSE 0 END + CASE WHEN sh.qq_0 > 0 THEN sh.qq_0 * LN(sh.qq_0 / ((sh.pp_0 + sh.qq_0) / 2)) ELSE 0 END) + (CASE WHEN sh.pp_1 > 0 THEN sh.pp_1 * LN(sh.pp_1 / ((sh.pp_1 + sh.qq_1) / 2)) ELSE 0 END + CASE WHEN sh.qq_1 > 0 THEN sh.qq_1 * LN(sh.qq_1 / ((sh.pp_1 + sh.qq_1) / 2)) ELSE 0 END)) + ((CASE WHEN sh.pp_2 > 0 THEN sh.pp_2 * LN(sh.pp_2 / ((sh.pp_2 + sh.qq_2) / 2)) ELSE 0 END + CASE WHEN sh.qq_2 > 0 THEN sh.qq_2 * LN(sh.qq_2 / ((sh.pp_2 + sh.qq_2) / 2)) ELSE 0 END) + (CASE WHEN sh.pp_3 > 0 THEN sh.pp_3 * LN(sh.pp_3 / ((sh.pp_3 + sh.qq_3) / 2)) ELSE 0 END + CASE WHEN sh.qq_3 > 0 THEN sh.qq_3 * LN(sh.qq_3 / ((sh.pp_3 + sh.qq_3) / 2)) ELSE 0 END))) + (((CASE WHEN sh.pp_4 > 0 THEN sh.pp_4 * LN(sh.pp_4 / ((sh.pp_4 + sh.qq_4) / 2)) ELSE 0 END + CASE WHEN sh.qq_4 > 0 THEN sh.qq_4 * LN(sh.qq_4 / ((sh.pp_4 + sh.qq_4) / 2)) ELSE 0 END) + (CASE WHEN sh.pp_5 > 0 THEN sh.pp_5 * LN(sh.pp_5 / ((sh.pp_5 + sh.qq_5) / 2)) ELSE 0 END + CASE WHEN sh.qq_5 > 0 THEN sh.qq_5 * LN(sh.qq_5 / ((sh.pp_5 + sh.qq_5) / 2)) ELSE 0 END)) + ((CASE WHEN sh.pp_6 > 0 THEN sh.pp_6 * LN(sh.pp_6 / ((sh.pp_6 + sh.qq_6) / 2)) ELSE 0 END + CASE WHEN sh.qq_6 > 0 THEN sh.qq_6 * LN(sh.qq_6 / ((sh.pp_6 + sh.qq_6) / 2)) ELSE 0 END) + (CASE WHEN sh.pp_7 > 0 THEN sh.pp_7 * LN(sh.pp_7 / ((sh.pp_7 + sh.qq_7) / 2)) ELSE 0 END + CASE WHEN sh.qq_7 > 0 THEN sh.qq_7 * LN(sh.qq_7 / ((sh.pp_7 + sh.qq_7) / 2)) ELSE 0 END)))) + ((CASE WHEN sh.pp_8 > 0 THEN sh.pp_8 * LN(sh.pp_8 / ((sh.pp_8 + sh.qq_8) / 2)) ELSE 0 END + CASE WHEN sh.qq_8 > 0 THEN sh.qq_8 * LN(sh.qq_8 / ((sh.pp_8 + sh.qq_8) / 2)) ELSE 0 END) + (CASE WHEN sh.pp_9 > 0 THEN sh.pp_9 * LN(sh.pp_9 / ((sh.pp_9 + sh.qq_9) / 2)) ELSE 0 END + CASE WHEN sh.qq_9 > 0 THEN sh.qq_9 * LN(sh.qq_9 / ((sh.pp_9 + sh.qq_9) / 2)) ELSE 0 END)))) / (2 * LN(2)) ELSE 0 END AS js_divergence
  FROM shares sh
),
ranked AS (
  -- stage: select, the features by divergence, ties by name
  SELECT dv.*, ROW_NUMBER() OVER (ORDER BY dv.js_divergence DESC, dv.name_order) AS js_rank
  FROM divergence dv
),
selection AS (
  -- stage: select, the top features at or above the threshold, weights = js / sum(js)
  SELECT
    r.*,
    CASE WHEN r.js_divergence >= CAST(0.05 AS DOUBLE PRECISION) AND r.js_divergence > 0 AND r.js_rank <= 20 THEN r.js_divergence / SUM(CASE WHEN r.js_divergence >= CAST(0.05 AS DOUBLE PRECISION) AND r.js_divergence > 0 AND r.js_rank <= 20 THEN r.js_divergence END) OVER () END AS weight
  FROM ranked r
),
checks AS (
  -- stage: select, stops with a message when the job cannot go on
  SELECT
    CAST(CASE WHEN NOT (c.population_size > 0) THEN 'The population is empty: check the population table.' WHEN NOT (c.null_ids = 0) THEN 'The population has customers whose id is NULL: filter them out in a view.' WHEN NOT (c.duplicate_ids = 0) THEN 'An id appears more than once in the population: make the id column unique (a view with one row per customer).' WHEN NOT (c.repeated_pairs = 0) THEN 'An (id, feature) pair appears more than once in the long table: keep one row per customer and feature.' WHEN NOT (c.non_finite_features = 0) THEN 'A feature holds NaN or infinite values: replace them with NULL in a view (execute() names the feature).' WHEN NOT (c.seed_members_found > 0) THEN 'No seed id was found in the population table: check the seed and the id column.' WHEN NOT (c.features_selected > 0) THEN 'No feature reaches the JS-divergence threshold: lower the threshold or use a sharper seed.' ELSE '1' END AS INT) AS checks_passed
  FROM (
    SELECT
      MAX(s.n_population) AS population_size, MAX(s.n_null_ids) AS null_ids, MAX(s.n_duplicate_ids) AS duplicate_ids,
      MAX(s.repeated_pairs) AS repeated_pairs, SUM(s.non_finite) AS non_finite_features,
      MAX(s.n_seed_found) AS seed_members_found, COUNT(s.weight) AS features_selected
    FROM selection s
  ) c
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
  -- stage: select, the weights and personas as one row
  SELECT
    MAX(CASE WHEN s.idx = 1 THEN s.weight END) AS w_1,
    MAX(CASE WHEN s.idx = 1 THEN s.persona END) AS pz_1,
    MAX(CASE WHEN s.idx = 2 THEN s.weight END) AS w_2,
    MAX(CASE WHEN s.idx = 2 THEN s.persona END) AS pz_2,
    MAX(CASE WHEN s.idx = 3 THEN s.weight END) AS w_3,
    MAX(CASE WHEN s.idx = 3 THEN s.persona END) AS pz_3
  FROM selection s
),
distance_part_1 AS (
  -- stage: rank, squared weighted distance to the persona
  SELECT
    p."member_srl" AS customer_id,
    ((CASE WHEN w.w_1 > 0 THEN (w.w_1 * ((COALESCE(CAST(p."age000" AS DOUBLE PRECISION), 0) - st.mu_1) / sh.sd_1 - w.pz_1)) * (w.w_1 * ((COALESCE(CAST(p."age000" AS DOUBLE PRECISION), 0) - st.mu_1) / sh.sd_1 - w.pz_1)) ELSE 0 END + CASE WHEN w.w_2 > 0 THEN (w.w_2 * ((COALESCE(CAST(p."sex000" AS DOUBLE PRECISION), 0) - st.mu_2) / sh.sd_2 - w.pz_2)) * (w.w_2 * ((COALESCE(CAST(p."sex000" AS DOUBLE PRECISION), 0) - st.mu_2) / sh.sd_2 - w.pz_2)) ELSE 0 END) + CASE WHEN w.w_3 > 0 THEN (w.w_3 * ((COALESCE(CAST(p."gpo015" AS DOUBLE PRECISION), 0) - st.mu_3) / sh.sd_3 - w.pz_3)) * (w.w_3 * ((COALESCE(CAST(p."gpo015" AS DOUBLE PRECISION), 0) - st.mu_3) / sh.sd_3 - w.pz_3)) ELSE 0 END) AS squared
  FROM "mart"."population" p
  CROSS JOIN pop_range_1 st
  CROSS JOIN pop_hist_1 sh
  CROSS JOIN weights_1 w
  CROSS JOIN checks c
  WHERE c.checks_passed = 1
),
scored AS (
  -- stage: rank, weighted Euclidean distance to the persona
  SELECT
    d1.customer_id,
    SQRT(d1.squared) AS distance
  FROM distance_part_1 d1
  LEFT JOIN excluded_ids excluded ON d1.customer_id = excluded.excluded_id
  WHERE excluded.excluded_id IS NULL
),
top_n AS (
  -- stage: top-n, the closest customers first, ties by id
  SELECT customer_id, distance
  FROM scored
  ORDER BY distance, customer_id
  LIMIT 30000
)
SELECT
  top_n.customer_id AS "member_srl",
  ROW_NUMBER() OVER (ORDER BY top_n.distance, top_n.customer_id) AS "rank",
  top_n.distance AS "distance"
FROM top_n
ORDER BY "rank"
