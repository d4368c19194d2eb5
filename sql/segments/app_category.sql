-- app_category: users who installed at least min_apps distinct apps of the categories.
SELECT a.adid
FROM adtarget.app_install_log a
WHERE a.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND a.app_category IN (SELECT value FROM p_app_categories)
GROUP BY a.adid
HAVING count(DISTINCT a.app_id) >= (SELECT min_apps FROM p_scalars)
