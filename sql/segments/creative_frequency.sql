-- creative_frequency: between min_impressions and max_impressions impressions of the creatives.
SELECT e.adid
FROM adtarget.ad_event_log e
WHERE e.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND e.event = 'impression'
  AND e.creative_id IN (SELECT value FROM p_creative_ids)
GROUP BY e.adid
HAVING count(*) BETWEEN (SELECT min_impressions FROM p_scalars) AND (SELECT max_impressions FROM p_scalars)
