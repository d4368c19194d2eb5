-- active_users: users active (in any log) on at least min_active_days days of the window.
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
HAVING count(DISTINCT a.dt) >= (SELECT min_active_days FROM p_scalars)
