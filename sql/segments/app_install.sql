-- app_install: users who installed any of the apps in the window.
SELECT a.adid
FROM adtarget.app_install_log a CROSS JOIN p_scalars c
WHERE a.dt BETWEEN c.dt_from AND c.dt_to
  AND a.app_id IN (SELECT value FROM p_app_ids)
