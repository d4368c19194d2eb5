-- clicked_not_converted: clicked one of the campaigns in the window and converted on none of them.
SELECT e.adid
FROM adtarget.ad_event_log e
WHERE e.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND e.event = 'click'
  AND e.campaign_id IN (SELECT value FROM p_campaign_ids)
EXCEPT
SELECT v.adid
FROM adtarget.conversion_log v
WHERE v.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND v.campaign_id IN (SELECT value FROM p_campaign_ids)
