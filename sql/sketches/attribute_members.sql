-- Who has which attribute value on one day: one row per (kind, value, adid), the input of the
-- daily theta sketches. :dt is bound by spark/build_sketches.py (Spark's named parameters).
-- adtarget_tokens() splits a search the way the segment matcher does (NFKC, case folding, words).
SELECT 'keyword' AS kind, t.token AS value, t.adid
FROM (SELECT adid, explode(adtarget_tokens(query)) AS token FROM adtarget.search_log WHERE dt = :dt) t
UNION ALL
SELECT 'banner_click', CAST(banner_id AS STRING), adid FROM adtarget.ad_event_log WHERE dt = :dt AND event = 'click'
UNION ALL
SELECT 'campaign_click', CAST(campaign_id AS STRING), adid FROM adtarget.ad_event_log WHERE dt = :dt AND event = 'click'
UNION ALL
SELECT 'campaign_impression', CAST(campaign_id AS STRING), adid FROM adtarget.ad_event_log
WHERE dt = :dt AND event = 'impression'
UNION ALL
SELECT 'creative_impression', CAST(creative_id AS STRING), adid FROM adtarget.ad_event_log
WHERE dt = :dt AND event = 'impression'
UNION ALL
SELECT 'app', app_id, adid FROM adtarget.app_install_log WHERE dt = :dt
UNION ALL
SELECT 'app_category', app_category, adid FROM adtarget.app_install_log WHERE dt = :dt
UNION ALL
SELECT 'domain', domain, adid FROM adtarget.page_visit_log WHERE dt = :dt
UNION ALL
SELECT 'domain_path', concat(domain, ' ', path), adid FROM adtarget.page_visit_log WHERE dt = :dt
UNION ALL
SELECT 'conversion', concat(CAST(campaign_id AS STRING), ':', conversion_type), adid
FROM adtarget.conversion_log WHERE dt = :dt
UNION ALL
SELECT 'converter', 'all', adid FROM adtarget.conversion_log WHERE dt = :dt
UNION ALL
SELECT 'active', 'all', adid FROM (
  SELECT adid FROM adtarget.search_log WHERE dt = :dt
  UNION ALL SELECT adid FROM adtarget.ad_event_log WHERE dt = :dt
  UNION ALL SELECT adid FROM adtarget.app_install_log WHERE dt = :dt
  UNION ALL SELECT adid FROM adtarget.page_visit_log WHERE dt = :dt
  UNION ALL SELECT adid FROM adtarget.conversion_log WHERE dt = :dt
) a
UNION ALL
SELECT 'user', 'all', adid FROM adtarget.user_attributes WHERE dt = :dt
UNION ALL
SELECT 'age_band', age_band, adid FROM adtarget.user_attributes WHERE dt = :dt
UNION ALL
SELECT 'gender', gender, adid FROM adtarget.user_attributes WHERE dt = :dt
UNION ALL
SELECT 'region', region, adid FROM adtarget.user_attributes WHERE dt = :dt
UNION ALL
SELECT 'device', device, adid FROM adtarget.user_attributes WHERE dt = :dt
UNION ALL
SELECT 'os', os, adid FROM adtarget.user_attributes WHERE dt = :dt
