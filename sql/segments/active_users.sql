-- active_users: users active (in any log) on at least min_active_days days of the window.
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
HAVING count(DISTINCT a.dt) >= (SELECT min_active_days FROM p_scalars)
