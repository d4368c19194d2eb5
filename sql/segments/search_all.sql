-- search_all: users with one search in the window that holds every keyword.
SELECT h.adid
FROM (
  SELECT s.adid, s.row_id, count(DISTINCT k.needle) AS found
  FROM (
    SELECT l.adid, monotonically_increasing_id() AS row_id, adtarget_haystack(l.query, c.match) AS hay
    FROM adtarget.search_log l CROSS JOIN p_scalars c
    WHERE l.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  ) s
  JOIN p_keywords k ON instr(s.hay, k.needle) > 0
  GROUP BY s.adid, s.row_id
) h
WHERE h.found = (SELECT count(DISTINCT needle) FROM p_keywords)
