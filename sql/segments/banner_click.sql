-- banner_click: users with at least min_clicks clicks on the banners in the window.
SELECT e.adid
FROM adtarget.ad_event_log e CROSS JOIN p_scalars c
WHERE e.dt BETWEEN c.dt_from AND c.dt_to
  AND e.event = 'click'
  AND e.banner_id IN (SELECT value FROM p_banner_ids)
GROUP BY e.adid
HAVING count(*) >= (SELECT min_clicks FROM p_scalars)
