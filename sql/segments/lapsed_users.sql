-- lapsed_users: users active in the window, but on no day since quiet_from.
SELECT a.adid
FROM (
  SELECT adid, dt FROM adtarget.search_log
  UNION ALL SELECT adid, dt FROM adtarget.ad_event_log
  UNION ALL SELECT adid, dt FROM adtarget.app_install_log
  UNION ALL SELECT adid, dt FROM adtarget.page_visit_log
  UNION ALL SELECT adid, dt FROM adtarget.conversion_log
) a CROSS JOIN p_scalars c
WHERE a.dt BETWEEN c.dt_from AND c.dt_to
GROUP BY a.adid
HAVING max(a.dt) < (SELECT quiet_from FROM p_scalars)
