-- The latest event of the day across the logs, and which log it came from.
SELECT adid, unix_millis(MAX(ts)) AS at, MAX_BY(source, ts) AS source
FROM (
  SELECT adid, ts, 'search' AS source FROM adtarget.search_log WHERE dt = :day
  UNION ALL SELECT adid, ts, 'ad' FROM adtarget.ad_event_log WHERE dt = :day
  UNION ALL SELECT adid, ts, 'app' FROM adtarget.app_install_log WHERE dt = :day
  UNION ALL SELECT adid, ts, 'web' FROM adtarget.page_visit_log WHERE dt = :day
  UNION ALL SELECT adid, ts, 'conversion' FROM adtarget.conversion_log WHERE dt = :day
) AS events
GROUP BY adid
