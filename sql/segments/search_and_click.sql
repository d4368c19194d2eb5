-- search_and_click: users who searched any keyword and clicked any campaign in the window.
SELECT s.adid
FROM (
  SELECT l.adid, adtarget_haystack(l.query, c.match) AS hay
  FROM adtarget.search_log l CROSS JOIN p_scalars c
  WHERE l.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
) s
WHERE EXISTS (SELECT 1 FROM p_keywords k WHERE instr(s.hay, k.needle) > 0)
INTERSECT
SELECT e.adid
FROM adtarget.ad_event_log e
WHERE e.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND e.event = 'click'
  AND e.campaign_id IN (SELECT value FROM p_campaign_ids)
