-- domain_visit: users with at least min_visits visits to the domains in the window.
SELECT v.adid
FROM adtarget.page_visit_log v
WHERE v.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND v.domain IN (SELECT value FROM p_domains)
GROUP BY v.adid
HAVING count(*) >= (SELECT min_visits FROM p_scalars)
