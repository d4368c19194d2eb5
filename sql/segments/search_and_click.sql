-- search_and_click: users who searched any keyword and clicked any campaign in the window.
SELECT s.adid
FROM (
  SELECT l.adid, adtarget_haystack(l.query, c.match) AS hay
  FROM adtarget.search_log l CROSS JOIN p_scalars c
  WHERE l.dt BETWEEN c.dt_from AND c.dt_to
) s
WHERE EXISTS (SELECT 1 FROM p_keywords k WHERE instr(s.hay, k.needle) > 0)
INTERSECT
SELECT e.adid
FROM adtarget.ad_event_log e CROSS JOIN p_scalars c
WHERE e.dt BETWEEN c.dt_from AND c.dt_to
  AND e.event = 'click'
  AND e.campaign_id IN (SELECT value FROM p_campaign_ids)
