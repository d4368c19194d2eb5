-- Members as of one day of every segment over logs: its window of signals, activity or
-- attributes judged by its template's rule (thresholds from extraction_segments), before the
-- demographic filters. Combinations of segments are judged afterwards (combinations.sql).
-- Parameters: :dt_from and :dt (the window), :passes (the signal passes extraction_chosen names,
-- as values: Spark prunes segment_signal's partitions by them, not by the join).
WITH signal AS (
  SELECT /*+ BROADCAST(c) */ s.segment_id, s.kind, s.adid, s.dt, s.events, s.amount, s.items
  FROM adtarget.segment_signal s
  JOIN extraction_chosen c ON c.dt = s.dt AND c.pass = s.pass AND c.segment_id = s.segment_id
  WHERE s.dt >= :dt_from AND s.dt <= :dt AND array_contains(:passes, s.pass)
), totals AS (
  SELECT segment_id, adid,
         sum(IF(kind = 'search', events, 0)) AS searches,
         max(IF(kind = 'search', dt, NULL)) AS last_search,
         sum(IF(kind = 'click', events, 0)) AS clicks,
         sum(IF(kind = 'impression', events, 0)) AS impressions,
         sum(IF(kind = 'conversion', events, 0)) AS conversions,
         sum(IF(kind = 'conversion', amount, 0)) AS conversion_value,
         sum(IF(kind = 'visit', events, 0)) AS visits,
         sum(IF(kind = 'install', events, 0)) AS installs
  FROM signal
  GROUP BY segment_id, adid
), apps AS (
  -- app_category's members: the distinct apps installed over the window, counted apart (only
  -- install signals carry items, and a collect_list in the aggregate above made Spark sort
  -- every signal row instead of hashing).
  SELECT /*+ BROADCAST(s) */ i.segment_id, i.adid
  FROM (SELECT segment_id, adid, app FROM signal LATERAL VIEW explode(items) x AS app
        WHERE kind = 'install') i
  JOIN extraction_segments s ON s.segment_id = i.segment_id
  WHERE s.template = 'app_category'
  GROUP BY i.segment_id, i.adid, s.min_apps
  HAVING count(DISTINCT i.app) >= s.min_apps
), activity AS (
  SELECT /*+ BROADCAST(s) */ s.segment_id, u.adid, count(DISTINCT u.dt) AS active_days, max(u.dt) AS last_active
  FROM adtarget.user_activity u
  JOIN extraction_segments s ON u.dt BETWEEN s.dt_from AND s.dt_to
  WHERE s.template IN ('active_users', 'lapsed_users') AND u.dt >= :dt_from AND u.dt <= :dt
  GROUP BY s.segment_id, u.adid
)
SELECT /*+ BROADCAST(s) */ t.segment_id, t.adid
FROM totals t JOIN extraction_segments s ON s.segment_id = t.segment_id
WHERE CASE s.template
  WHEN 'search_any' THEN t.searches > 0
  WHEN 'search_all' THEN t.searches > 0
  WHEN 'search_frequency' THEN t.searches >= s.min_searches
  WHEN 'search_lapsed' THEN t.searches > 0 AND t.last_search < s.quiet_from
  WHEN 'search_and_click' THEN t.searches > 0 AND t.clicks > 0
  WHEN 'banner_click' THEN t.clicks >= s.min_clicks
  WHEN 'campaign_click' THEN t.clicks >= s.min_clicks
  WHEN 'impression_no_click' THEN t.impressions >= s.min_impressions AND t.clicks = 0
  WHEN 'creative_frequency' THEN t.impressions BETWEEN s.min_impressions AND s.max_impressions
  WHEN 'app_install' THEN t.installs > 0
  WHEN 'domain_visit' THEN t.visits >= s.min_visits
  WHEN 'path_visit' THEN t.visits > 0
  WHEN 'campaign_conversion' THEN t.conversions > 0
  WHEN 'clicked_not_converted' THEN t.clicks > 0 AND t.conversions = 0
  WHEN 'high_value' THEN t.conversions > 0 AND t.conversion_value >= s.min_total_value
  ELSE false
END

UNION ALL

SELECT segment_id, adid FROM apps

UNION ALL

SELECT /*+ BROADCAST(s) */ a.segment_id, a.adid
FROM activity a JOIN extraction_segments s ON s.segment_id = a.segment_id
WHERE (s.template = 'active_users' AND a.active_days >= s.min_active_days)
   OR (s.template = 'lapsed_users' AND a.last_active < s.quiet_from)

UNION ALL

SELECT /*+ BROADCAST(s) */ s.segment_id, u.adid
FROM adtarget.user_attributes u JOIN extraction_segments s ON s.template = 'demographic'
WHERE u.dt = :dt
