-- The users active on one day, in any log: what active_users and lapsed_users read.
SELECT DISTINCT adid FROM (
  SELECT adid FROM adtarget.search_log WHERE dt = :dt
  UNION ALL SELECT adid FROM adtarget.ad_event_log WHERE dt = :dt
  UNION ALL SELECT adid FROM adtarget.app_install_log WHERE dt = :dt
  UNION ALL SELECT adid FROM adtarget.page_visit_log WHERE dt = :dt
  UNION ALL SELECT adid FROM adtarget.conversion_log WHERE dt = :dt
) a
