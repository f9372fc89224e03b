-- lookalike-sql VERSION (hive): the lookalike audience as one statement
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
    SELECT `member_srl` AS seed_id
    FROM `mart`.`mom_seed`
  ) seed_source
  WHERE seed_source.seed_id IS NOT NULL
),
population_range AS (
  -- stage: population, pass 1 of the profile, one row: the population size and NULL ids, and per
  -- feature the range, count and mean over the profiled customers (checked: no NaN or infinite value)
  SELECT r.*
  FROM (
    SELECT
      COUNT(*) AS n_population, COUNT(*) - COUNT(p.customer_id) AS n_null_ids, SUM(p.profiled) AS n_profiled,
      MIN(p.x_1) AS lo_1, MAX(p.x_1) AS hi_1, COALESCE(SUM(p.x_1), 0) / CASE WHEN SUM(p.profiled) = 0 THEN NULL ELSE SUM(p.profiled) END AS mean_1,
      SUM(p.x_1) AS total_1,
      MIN(p.x_2) AS lo_2, MAX(p.x_2) AS hi_2, COALESCE(SUM(p.x_2), 0) / CASE WHEN SUM(p.profiled) = 0 THEN NULL ELSE SUM(p.profiled) END AS mean_2,
      SUM(p.x_2) AS total_2,
      MIN(p.x_3) AS lo_3, MAX(p.x_3) AS hi_3, COALESCE(SUM(p.x_3), 0) / CASE WHEN SUM(p.profiled) = 0 THEN NULL ELSE SUM(p.profiled) END AS mean_3,
      SUM(p.x_3) AS total_3
    FROM (
      SELECT
      p.`member_srl` AS customer_id, 1 AS profiled,
      CAST(p.`age000` AS DOUBLE) AS x_1,
      CAST(p.`sex000` AS DOUBLE) AS x_2,
      CAST(p.`gpo015` AS DOUBLE) AS x_3
      FROM `mart`.`population` p
    ) p
  ) r
  WHERE CAST(regexp_extract('1', CASE WHEN NOT (r.n_population > 0) THEN concat('(', COALESCE(reflect('java.lang.Integer', 'parseInt', 'E: lookalike-sql stopped the job: the population is empty: check the population table.'), ''), 'E: lookalike-sql stopped the job: the population is empty: check the population table.') WHEN NOT (r.n_null_ids = 0) THEN concat('(', COALESCE(reflect('java.lang.Integer', 'parseInt', 'N: lookalike-sql stopped the job: the population has customers whose id is NULL: filter them out in a view.'), ''), 'N: lookalike-sql stopped the job: the population has customers whose id is NULL: filter them out in a view.') WHEN NOT ((COALESCE(r.total_1, 0) <= CAST(1.7976931348623157e+308 AS DOUBLE) AND COALESCE(r.total_1, 0) >= -CAST(1.7976931348623157e+308 AS DOUBLE))) THEN concat('(', COALESCE(reflect('java.lang.Integer', 'parseInt', 'F: lookalike-sql stopped the job: feature age000 holds NaN or infinite values: replace them with NULL in a view, or leave the feature out.'), ''), 'F: lookalike-sql stopped the job: feature age000 holds NaN or infinite values: replace them with NULL in a view, or leave the feature out.') WHEN NOT ((COALESCE(r.total_2, 0) <= CAST(1.7976931348623157e+308 AS DOUBLE) AND COALESCE(r.total_2, 0) >= -CAST(1.7976931348623157e+308 AS DOUBLE))) THEN concat('(', COALESCE(reflect('java.lang.Integer', 'parseInt', 'F: lookalike-sql stopped the job: feature sex000 holds NaN or infinite values: replace them with NULL in a view, or leave the feature out.'), ''), 'F: lookalike-sql stopped the job: feature sex000 holds NaN or infinite values: replace them with NULL in a view, or leave the feature out.') WHEN NOT ((COALESCE(r.total_3, 0) <= CAST(1.7976931348623157e+308 AS DOUBLE) AND COALESCE(r.total_3, 0) >= -CAST(1.7976931348623157e+308 AS DOUBLE))) THEN concat('(', COALESCE(reflect('java.lang.Integer', 'parseInt', 'F: lookalike-sql stopped the job: feature gpo015 holds NaN or infinite values: replace them with NULL in a view, or leave the feature out.'), ''), 'F: lookalike-sql stopped the job: feature gpo015 holds NaN or infinite values: replace them with NULL in a view, or leave the feature out.') ELSE '1' END, 0) AS INT) = 1
),
feature_range AS (
  -- stage: profile, the one row of pass 1 unpivoted: per feature its range and mean
  SELECT u.idx, u.name_order, r.n_population, r.n_profiled, u.lo, u.hi, u.mean
  FROM population_range r
  LATERAL VIEW stack(3,
    1, 1, r.lo_1, r.hi_1, r.mean_1,
    2, 3, r.lo_2, r.hi_2, r.mean_2,
    3, 2, r.lo_3, r.hi_3, r.mean_3
  ) u AS idx, name_order, lo, hi, mean
),
profile_values AS (
  -- stage: profile, pass 2 reads every feature of the customers profiled, one row
  -- per customer and feature, joined on the feature to its range and mean (an equi-join: engines
  -- compile it, where a join on a constant key would run as a nested loop on Spark)
  SELECT
    v.idx, fr.name_order, v.x, v.profiled, v.in_seed, fr.n_population, fr.n_profiled, fr.lo, fr.hi, fr.mean
  FROM (
  -- (the lateral view in a subquery of its own: Hive attaches it before a join, Spark after)
  SELECT u.idx, u.x, j.profiled, j.in_seed
  FROM (
    SELECT
      p.*, CASE WHEN s.seed_id IS NULL THEN 0 ELSE 1 END AS in_seed
    FROM (
      SELECT
        p.`member_srl` AS customer_id, 1 AS profiled,
        CAST(p.`age000` AS DOUBLE) AS x_1,
        CAST(p.`sex000` AS DOUBLE) AS x_2,
        CAST(p.`gpo015` AS DOUBLE) AS x_3
      FROM `mart`.`population` p
    ) p
    LEFT JOIN seed_ids s ON s.seed_id = p.customer_id
  ) j
  LATERAL VIEW stack(3,
    1, (j.x_1 + 0),
    2, (j.x_2 + 0),
    3, (j.x_3 + 0)
  ) u AS idx, x
  ) v
  JOIN feature_range fr ON fr.idx = v.idx
),
profile AS (
  -- stage: profile, pass 2, one row per feature: spread and histogram of the profiled customers,
  -- and the histogram and mean deviation of the seed members
  SELECT
    b.idx, b.name_order, MAX(b.n_population) AS n_population, 0 AS n_null_ids, 0 AS n_duplicate_ids, 0 AS repeated_pairs,
    MAX(b.n_profiled) AS n_profiled, MAX(b.lo) AS lo, MAX(b.hi) AS hi, MAX(b.mean) AS mean,
    COUNT(CASE WHEN b.profiled = 1 AND b.x IS NOT NULL THEN 1 END) AS pop_count,
    SQRT(SUM(CASE WHEN b.profiled = 1 THEN b.dev * b.dev ELSE 0 END) / CASE WHEN MAX(b.n_profiled) = 0 THEN NULL ELSE MAX(b.n_profiled) END) AS std,
    SUM(b.in_seed) AS n_seed_found, COUNT(CASE WHEN b.in_seed = 1 AND b.x IS NOT NULL THEN 1 END) AS seed_count,
    COUNT(CASE WHEN b.in_seed = 1 AND b.x IS NOT NULL THEN 1 END) AS seed_weight,
    SUM(CASE WHEN b.in_seed = 1 THEN COALESCE(b.x, 0) ELSE 0 END) / CASE WHEN SUM(b.in_seed) = 0 THEN NULL ELSE SUM(b.in_seed) END AS seed_mean,
    -- the persona from the mean deviation, not seed mean - mean: no cancellation when both are close
    SUM(CASE WHEN b.in_seed = 1 THEN b.dev ELSE 0 END) / CASE WHEN SUM(b.in_seed) = 0 THEN NULL ELSE SUM(b.in_seed) END AS seed_dev,
    COUNT(CASE WHEN b.profiled = 1 AND b.raw_bin <= 0 THEN 1 END) AS p_0,
    COUNT(CASE WHEN b.in_seed = 1 AND b.raw_bin <= 0 THEN 1 END) AS q_0,
    COUNT(CASE WHEN b.profiled = 1 AND b.raw_bin = 1 THEN 1 END) AS p_1,
    COUNT(CASE WHEN b.in_seed = 1 AND b.raw_bin = 1 THEN 1 END) AS q_1,
    COUNT(CASE WHEN b.profiled = 1 AND b.raw_bin = 2 THEN 1 END) AS p_2,
    COUNT(CASE WHEN b.in_seed = 1 AND b.raw_bin = 2 THEN 1 END) AS q_2,
    COUNT(CASE WHEN b.profiled = 1 AND b.raw_bin = 3 THEN 1 END) AS p_3,
    COUNT(CASE WHEN b.in_seed = 1 AND b.raw_bin = 3 THEN 1 END) AS q_3,
    COUNT(CASE WHEN b.profiled = 1 AND b.raw_bin = 4 THEN 1 END) AS p_4,
    COUNT(CASE WHEN b.in_seed = 1 AND b.raw_bin = 4 THEN 1 END) AS q_4,
    COUNT(CASE WHEN b.profiled = 1 AND b.raw_bin = 5 THEN 1 END) AS p_5,
    COUNT(CASE WHEN b.in_seed = 1 AND b.raw_bin = 5 THEN 1 END) AS q_5,
    COUNT(CASE WHEN b.profiled = 1 AND b.raw_bin = 6 THEN 1 END) AS p_6,
    COUNT(CASE WHEN b.in_seed = 1 AND b.raw_bin = 6 THEN 1 END) AS q_6,
    COUNT(CASE WHEN b.profiled = 1 AND b.raw_bin = 7 THEN 1 END) AS p_7,
    COUNT(CASE WHEN b.in_seed = 1 AND b.raw_bin = 7 THEN 1 END) AS q_7,
    COUNT(CASE WHEN b.profiled = 1 AND b.raw_bin = 8 THEN 1 END) AS p_8,
    COUNT(CASE WHEN b.in_seed = 1 AND b.raw_bin = 8 THEN 1 END) AS q_8,
    COUNT(CASE WHEN b.profiled = 1 AND b.raw_bin >= 9 THEN 1 END) AS p_9,
    COUNT(CASE WHEN b.in_seed = 1 AND b.raw_bin >= 9 THEN 1 END) AS q_9
  FROM (
    SELECT
      pv.*, COALESCE(pv.x, 0) - pv.mean AS dev,
      FLOOR((pv.x - pv.lo) / CASE WHEN pv.hi - pv.lo = 0 THEN NULL ELSE pv.hi - pv.lo END * 10) AS raw_bin
    FROM profile_values pv
  ) b
  GROUP BY b.idx, b.name_order
),
shares AS (
  -- stage: select, the share of the population (p) and of the seed (q) in each bin
  SELECT
    pr.*,
    CAST(pr.p_0 AS DOUBLE) / CASE WHEN pr.pop_count = 0 THEN NULL ELSE pr.pop_count END AS pop_share_0,
    CAST(pr.q_0 AS DOUBLE) / CASE WHEN pr.seed_weight = 0 THEN NULL ELSE pr.seed_weight END AS seed_share_0,
    CAST(pr.p_1 AS DOUBLE) / CASE WHEN pr.pop_count = 0 THEN NULL ELSE pr.pop_count END AS pop_share_1,
    CAST(pr.q_1 AS DOUBLE) / CASE WHEN pr.seed_weight = 0 THEN NULL ELSE pr.seed_weight END AS seed_share_1,
    CAST(pr.p_2 AS DOUBLE) / CASE WHEN pr.pop_count = 0 THEN NULL ELSE pr.pop_count END AS pop_share_2,
    CAST(pr.q_2 AS DOUBLE) / CASE WHEN pr.seed_weight = 0 THEN NULL ELSE pr.seed_weight END AS seed_share_2,
    CAST(pr.p_3 AS DOUBLE) / CASE WHEN pr.pop_count = 0 THEN NULL ELSE pr.pop_count END AS pop_share_3,
    CAST(pr.q_3 AS DOUBLE) / CASE WHEN pr.seed_weight = 0 THEN NULL ELSE pr.seed_weight END AS seed_share_3,
    CAST(pr.p_4 AS DOUBLE) / CASE WHEN pr.pop_count = 0 THEN NULL ELSE pr.pop_count END AS pop_share_4,
    CAST(pr.q_4 AS DOUBLE) / CASE WHEN pr.seed_weight = 0 THEN NULL ELSE pr.seed_weight END AS seed_share_4,
    CAST(pr.p_5 AS DOUBLE) / CASE WHEN pr.pop_count = 0 THEN NULL ELSE pr.pop_count END AS pop_share_5,
    CAST(pr.q_5 AS DOUBLE) / CASE WHEN pr.seed_weight = 0 THEN NULL ELSE pr.seed_weight END AS seed_share_5,
    CAST(pr.p_6 AS DOUBLE) / CASE WHEN pr.pop_count = 0 THEN NULL ELSE pr.pop_count END AS pop_share_6,
    CAST(pr.q_6 AS DOUBLE) / CASE WHEN pr.seed_weight = 0 THEN NULL ELSE pr.seed_weight END AS seed_share_6,
    CAST(pr.p_7 AS DOUBLE) / CASE WHEN pr.pop_count = 0 THEN NULL ELSE pr.pop_count END AS pop_share_7,
    CAST(pr.q_7 AS DOUBLE) / CASE WHEN pr.seed_weight = 0 THEN NULL ELSE pr.seed_weight END AS seed_share_7,
    CAST(pr.p_8 AS DOUBLE) / CASE WHEN pr.pop_count = 0 THEN NULL ELSE pr.pop_count END AS pop_share_8,
    CAST(pr.q_8 AS DOUBLE) / CASE WHEN pr.seed_weight = 0 THEN NULL ELSE pr.seed_weight END AS seed_share_8,
    CAST(pr.p_9 AS DOUBLE) / CASE WHEN pr.pop_count = 0 THEN NULL ELSE pr.pop_count END AS pop_share_9,
    CAST(pr.q_9 AS DOUBLE) / CASE WHEN pr.seed_weight = 0 THEN NULL ELSE pr.seed_weight END AS seed_share_9
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
    sh.seed_dev / CASE WHEN sh.std = 0 THEN NULL ELSE sh.std END AS persona,
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
selected AS (
  -- stage: select, the top 3 features by divergence with their statistics (checked: a seed
  -- member was found, and a feature reaches the threshold)
  SELECT t.*
  FROM (
    SELECT s.*, CASE WHEN s.js_divergence >= CAST(0.05 AS DOUBLE) AND s.js_divergence > 0 AND s.js_rank <= 20 THEN 1 ELSE 0 END AS is_selected, CASE WHEN s.js_rank > 1 OR (s.js_divergence >= CAST(0.05 AS DOUBLE) AND s.js_divergence > 0) THEN 1 ELSE 0 END AS features_selected
    FROM selection s
    WHERE s.js_rank <= 3
  ) t
  WHERE CAST(regexp_extract('1', CASE WHEN NOT (t.n_seed_found > 0) THEN concat('(', COALESCE(reflect('java.lang.Integer', 'parseInt', 'S: lookalike-sql stopped the job: no seed id was found in the population table: check that the seed holds values of the id column.'), ''), 'S: lookalike-sql stopped the job: no seed id was found in the population table: check that the seed holds values of the id column.') WHEN NOT (t.features_selected > 0) THEN concat('(', COALESCE(reflect('java.lang.Integer', 'parseInt', 'T: lookalike-sql stopped the job: no feature reaches the JS-divergence threshold: lower the threshold or use a sharper seed.'), ''), 'T: lookalike-sql stopped the job: no feature reaches the JS-divergence threshold: lower the threshold or use a sharper seed.') ELSE '1' END, 0) AS INT) = 1
),
slots AS (
  -- stage: select, the top features as one row of slots (slot j: the feature ranked j), and the sum
  -- of the selected divergences, which weigh the features
  SELECT
    1 AS one_key,
    SUM(CASE WHEN s.is_selected = 1 THEN s.js_divergence END) AS weights_sum,
MAX(CASE WHEN s.js_rank = 1 THEN s.idx END) AS idx_1, MAX(CASE WHEN s.js_rank = 1 THEN s.is_selected END) AS is_selected_1, MAX(CASE WHEN s.js_rank = 1 THEN s.js_divergence END) AS js_divergence_1, MAX(CASE WHEN s.js_rank = 1 THEN s.mean END) AS mean_1, MAX(CASE WHEN s.js_rank = 1 THEN s.std END) AS std_1, MAX(CASE WHEN s.js_rank = 1 THEN s.persona END) AS persona_1,
MAX(CASE WHEN s.js_rank = 2 THEN s.idx END) AS idx_2, MAX(CASE WHEN s.js_rank = 2 THEN s.is_selected END) AS is_selected_2, MAX(CASE WHEN s.js_rank = 2 THEN s.js_divergence END) AS js_divergence_2, MAX(CASE WHEN s.js_rank = 2 THEN s.mean END) AS mean_2, MAX(CASE WHEN s.js_rank = 2 THEN s.std END) AS std_2, MAX(CASE WHEN s.js_rank = 2 THEN s.persona END) AS persona_2,
MAX(CASE WHEN s.js_rank = 3 THEN s.idx END) AS idx_3, MAX(CASE WHEN s.js_rank = 3 THEN s.is_selected END) AS is_selected_3, MAX(CASE WHEN s.js_rank = 3 THEN s.js_divergence END) AS js_divergence_3, MAX(CASE WHEN s.js_rank = 3 THEN s.mean END) AS mean_3, MAX(CASE WHEN s.js_rank = 3 THEN s.std END) AS std_3, MAX(CASE WHEN s.js_rank = 3 THEN s.persona END) AS persona_3
  FROM selected s
),
excluded_ids AS (
  -- stage: rank, the customers left out of the audience: the seed
  SELECT DISTINCT excluded_source.excluded_id
  FROM (
    SELECT seed_id AS excluded_id FROM seed_ids
  ) excluded_source
  WHERE excluded_source.excluded_id IS NOT NULL
),
scored AS (
  -- stage: rank, the weighted distance of every customer over the selected features, weights = divergence / their
  -- sum (every customer is grouped, so that one listed twice stops the job: its group has two rows)
  SELECT c.customer_id, MAX(c.kept) AS kept, MAX(c.ranked) AS ranked, MAX(c.distance) AS distance
  FROM (
    SELECT
      v.customer_id, v.kept, v.ranked,
      SQRT(((CASE WHEN o.is_selected_1 = 1 THEN (o.js_divergence_1 * ((COALESCE(v.x[o.idx_1 - 1], 0) - o.mean_1) / o.std_1 - o.persona_1)) * (o.js_divergence_1 * ((COALESCE(v.x[o.idx_1 - 1], 0) - o.mean_1) / o.std_1 - o.persona_1)) ELSE 0 END + CASE WHEN o.is_selected_2 = 1 THEN (o.js_divergence_2 * ((COALESCE(v.x[o.idx_2 - 1], 0) - o.mean_2) / o.std_2 - o.persona_2)) * (o.js_divergence_2 * ((COALESCE(v.x[o.idx_2 - 1], 0) - o.mean_2) / o.std_2 - o.persona_2)) ELSE 0 END) + CASE WHEN o.is_selected_3 = 1 THEN (o.js_divergence_3 * ((COALESCE(v.x[o.idx_3 - 1], 0) - o.mean_3) / o.std_3 - o.persona_3)) * (o.js_divergence_3 * ((COALESCE(v.x[o.idx_3 - 1], 0) - o.mean_3) / o.std_3 - o.persona_3)) ELSE 0 END)) / o.weights_sum AS distance
    FROM (
      SELECT
        1 AS one_key, p.`member_srl` AS customer_id,
        CASE WHEN 1 = 1 THEN 1 ELSE 0 END AS kept,
        CASE WHEN 1 = 1 AND excluded.excluded_id IS NULL THEN 1 ELSE 0 END AS ranked,
        -- the values in feature order: slot j reads position idx_j - 1
        array((CAST(p.`age000` AS DOUBLE) + 0), (CAST(p.`sex000` AS DOUBLE) + 0), (CAST(p.`gpo015` AS DOUBLE) + 0)) AS x
      FROM `mart`.`population` p
      LEFT JOIN excluded_ids excluded ON excluded.excluded_id = p.`member_srl`
    ) v
    -- the one row of slots, joined on a key (Hive refuses a cartesian product)
    JOIN slots o ON o.one_key = v.one_key
  ) c
  GROUP BY c.customer_id
  HAVING CAST(regexp_extract('1', CASE WHEN NOT (COUNT(*) = 1) THEN concat('(', COALESCE(reflect('java.lang.Integer', 'parseInt', 'D: lookalike-sql stopped the job: an id appears more than once in the population: make the id column unique (a view with one row per customer).'), ''), 'D: lookalike-sql stopped the job: an id appears more than once in the population: make the id column unique (a view with one row per customer).') ELSE '1' END, 0) AS INT) = 1
),
top_n AS (
  -- stage: top-n, the closest customers first, ties by id (numbered in the same step: on Hive one
  -- MapReduce job fewer than a LIMIT and then a numbering, and Spark keeps only the top of each
  -- partition before it sorts)
  SELECT nb.customer_id, nb.distance, nb.position
  FROM (
    SELECT sc.customer_id, sc.distance, ROW_NUMBER() OVER (ORDER BY sc.distance, sc.customer_id) AS position
    FROM scored sc
    WHERE sc.ranked = 1
  ) nb
  WHERE nb.position <= 30000
)
SELECT
  top_n.customer_id AS `member_srl`,
  top_n.position AS `rank`,
  top_n.distance AS `distance`
FROM top_n
ORDER BY `rank`
