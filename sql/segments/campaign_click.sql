-- campaign_click: users with at least min_clicks clicks on the campaigns in the window.
SELECT e.adid
FROM adtarget.ad_event_log e
WHERE e.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND e.event = 'click'
  AND e.campaign_id IN (SELECT value FROM p_campaign_ids)
GROUP BY e.adid
HAVING count(*) >= (SELECT min_clicks FROM p_scalars)
