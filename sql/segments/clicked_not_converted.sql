-- clicked_not_converted: clicked one of the campaigns in the window and converted on none of them.
SELECT e.adid
FROM adtarget.ad_event_log e CROSS JOIN p_scalars c
WHERE e.dt BETWEEN c.dt_from AND c.dt_to
  AND e.event = 'click'
  AND e.campaign_id IN (SELECT value FROM p_campaign_ids)
EXCEPT
SELECT v.adid
FROM adtarget.conversion_log v CROSS JOIN p_scalars c
WHERE v.dt BETWEEN c.dt_from AND c.dt_to
  AND v.campaign_id IN (SELECT value FROM p_campaign_ids)
