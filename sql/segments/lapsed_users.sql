-- lapsed_users: users active in the window, but on no day since quiet_from.
SELECT a.adid
FROM (
  SELECT adid, dt FROM adtarget.search_log
  UNION ALL SELECT adid, dt FROM adtarget.ad_event_log
  UNION ALL SELECT adid, dt FROM adtarget.app_install_log
  UNION ALL SELECT adid, dt FROM adtarget.page_visit_log
  UNION ALL SELECT adid, dt FROM adtarget.conversion_log
) a
WHERE a.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
GROUP BY a.adid
HAVING max(a.dt) < (SELECT quiet_from FROM p_scalars)
