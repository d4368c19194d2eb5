-- Id-keyed signals of one day: each log read once and joined on (kind, field, value) with the
-- probes of every segment (extraction_probes, a small broadcast table). One row per segment,
-- kind and user: the day's matching events, the conversion value, the apps installed.
SELECT /*+ BROADCAST(p) */ p.segment_id, p.kind, e.adid,
       count(*) AS events, CAST(0 AS DOUBLE) AS amount, CAST(NULL AS ARRAY<STRING>) AS items
FROM (
  SELECT l.adid, l.event, k.field, k.value
  FROM adtarget.ad_event_log l
  LATERAL VIEW stack(3, 'banner_id', CAST(l.banner_id AS STRING),
                        'campaign_id', CAST(l.campaign_id AS STRING),
                        'creative_id', CAST(l.creative_id AS STRING)) k AS field, value
  WHERE l.dt = :dt
) e
JOIN extraction_probes p ON p.kind = e.event AND p.field = e.field AND p.value = e.value
GROUP BY p.segment_id, p.kind, e.adid

UNION ALL

SELECT /*+ BROADCAST(p) */ p.segment_id, p.kind, v.adid, count(*), sum(v.value), CAST(NULL AS ARRAY<STRING>)
FROM (
  SELECT l.adid, l.value, l.conversion_type, k.field, k.key
  FROM adtarget.conversion_log l
  LATERAL VIEW stack(2, 'campaign_id', CAST(l.campaign_id AS STRING), '*', '*') k AS field, key
  WHERE l.dt = :dt
) v
JOIN extraction_probes p ON p.kind = 'conversion' AND p.field = v.field AND p.value = v.key
WHERE p.types IS NULL OR array_contains(p.types, v.conversion_type)
GROUP BY p.segment_id, p.kind, v.adid

UNION ALL

SELECT /*+ BROADCAST(p) */ p.segment_id, p.kind, v.adid, count(*), CAST(0 AS DOUBLE), CAST(NULL AS ARRAY<STRING>)
FROM adtarget.page_visit_log v
JOIN extraction_probes p ON p.kind = 'visit' AND p.field = 'domain' AND p.value = v.domain
WHERE v.dt = :dt AND (p.prefixes IS NULL OR exists(p.prefixes, x -> startswith(v.path, x)))
GROUP BY p.segment_id, p.kind, v.adid

UNION ALL

SELECT /*+ BROADCAST(p) */ p.segment_id, p.kind, a.adid, count(*), CAST(0 AS DOUBLE), collect_set(a.app_id)
FROM (
  SELECT l.adid, l.app_id, k.field, k.value
  FROM adtarget.app_install_log l
  LATERAL VIEW stack(2, 'app_id', l.app_id, 'app_category', l.app_category) k AS field, value
  WHERE l.dt = :dt
) a
JOIN extraction_probes p ON p.kind = 'install' AND p.field = a.field AND p.value = a.value
GROUP BY p.segment_id, p.kind, a.adid
