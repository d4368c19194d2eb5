-- app_category: users who installed at least min_apps distinct apps of the categories.
SELECT a.adid
FROM adtarget.app_install_log a CROSS JOIN p_scalars c
WHERE a.dt BETWEEN c.dt_from AND c.dt_to
  AND a.app_category IN (SELECT value FROM p_app_categories)
GROUP BY a.adid
HAVING count(DISTINCT a.app_id) >= (SELECT min_apps FROM p_scalars)
