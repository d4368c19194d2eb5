-- app_install: users who installed any of the apps in the window.
SELECT a.adid
FROM adtarget.app_install_log a
WHERE a.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND a.app_id IN (SELECT value FROM p_app_ids)
