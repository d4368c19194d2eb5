-- path_visit: users who visited a path starting with a prefix, on one of the domains.
-- startswith() compares literally (LIKE would read % and _ in a prefix as wildcards).
SELECT v.adid
FROM adtarget.page_visit_log v CROSS JOIN p_scalars c
WHERE v.dt BETWEEN c.dt_from AND c.dt_to
  AND v.domain IN (SELECT value FROM p_domains)
  AND EXISTS (SELECT 1 FROM p_path_prefixes p WHERE startswith(v.path, p.value))
