-- path_visit: users who visited a path starting with a prefix, on one of the domains.
-- startswith() compares literally (LIKE would read % and _ in a prefix as wildcards).
SELECT v.adid
FROM adtarget.page_visit_log v
WHERE v.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND v.domain IN (SELECT value FROM p_domains)
  AND EXISTS (SELECT 1 FROM p_path_prefixes p WHERE startswith(v.path, p.value))
