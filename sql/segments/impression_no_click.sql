-- impression_no_click: at least min_impressions impressions of the campaigns, no click on them.
SELECT e.adid
FROM adtarget.ad_event_log e
WHERE e.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND e.campaign_id IN (SELECT value FROM p_campaign_ids)
GROUP BY e.adid
HAVING sum(CASE WHEN e.event = 'impression' THEN 1 ELSE 0 END) >= (SELECT min_impressions FROM p_scalars)
   AND sum(CASE WHEN e.event = 'click' THEN 1 ELSE 0 END) = 0
