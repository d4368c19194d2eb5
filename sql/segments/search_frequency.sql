-- search_frequency: users with at least min_searches searches holding any keyword.
SELECT s.adid
FROM (
  SELECT l.adid, adtarget_haystack(l.query, c.match) AS hay
  FROM adtarget.search_log l CROSS JOIN p_scalars c
  WHERE l.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
) s
WHERE EXISTS (SELECT 1 FROM p_keywords k WHERE instr(s.hay, k.needle) > 0)
GROUP BY s.adid
HAVING count(*) >= (SELECT min_searches FROM p_scalars)
