-- domain_visit: users with at least min_visits visits to the domains in the window.
SELECT v.adid
FROM adtarget.page_visit_log v CROSS JOIN p_scalars c
WHERE v.dt BETWEEN c.dt_from AND c.dt_to
  AND v.domain IN (SELECT value FROM p_domains)
GROUP BY v.adid
HAVING count(*) >= (SELECT min_visits FROM p_scalars)
